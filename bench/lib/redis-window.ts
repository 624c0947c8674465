import { Redis } from 'ioredis';
import { processCpuMs } from './process-cpu.js';

/**
 * What redis-server did over a measured window: its CPU (/proc/<pid>/stat, when it runs on
 * this machine), its reads and writes of client sockets, bytes in and out, and each
 * command's calls and in-call time (`INFO commandstats`). Every client's commands count:
 * on a shared Redis, other work is in the figures (docs/benchmarks.md uses a private one).
 */
export interface RedisSnapshot {
  cpuMs: number | undefined;
  stats: Record<string, number>;
  commands: Record<string, { calls: number; usec: number }>;
}

const STATS = ['total_reads_processed', 'total_writes_processed', 'total_net_input_bytes', 'total_net_output_bytes', 'total_commands_processed'];

export async function redisSnapshot(url: string): Promise<RedisSnapshot> {
  const r = new Redis(url, { lazyConnect: true });
  try {
    await r.connect();
    const info = await r.info('all');
    const field = (name: string): string | undefined => new RegExp(`^${name}:(.*)\\r?$`, 'm').exec(info)?.[1];
    const pid = Number(field('process_id'));
    const cpu = Number.isFinite(pid) ? processCpuMs(pid) : undefined;
    const stats: Record<string, number> = {};
    for (const s of STATS) stats[s] = Number(field(s) ?? 0);
    const commands: Record<string, { calls: number; usec: number }> = {};
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) commands[m[1]!] = { calls: Number(m[2]), usec: Number(m[3]) };
    return { cpuMs: cpu === undefined ? undefined : cpu.userMs + cpu.systemMs, stats, commands };
  } finally {
    r.disconnect();
  }
}

/** The window between two snapshots, per request: one line for redis-server's CPU and I/O, one for its commands. */
export function redisWindow(from: RedisSnapshot, to: RedisSnapshot, requests: number): string {
  const per = (n: number): string => (n / requests).toFixed(2);
  const d = (s: string): number => to.stats[s]! - from.stats[s]!;
  const cpu = from.cpuMs === undefined || to.cpuMs === undefined ? 'n/a' : (((to.cpuMs - from.cpuMs) * 1000) / requests).toFixed(1);
  const cmds = Object.entries(to.commands)
    .map(([name, c]) => {
      const was = from.commands[name] ?? { calls: 0, usec: 0 };
      return { name, calls: c.calls - was.calls, usec: c.usec - was.usec };
    })
    .filter((c) => c.calls > 0 && c.name !== 'info')
    .map((c) => `${c.name} ${per(c.calls)} (${(c.usec / c.calls).toFixed(2)} µs)`);
  return (
    `  redis-server per request: CPU ${cpu} µs, reads ${per(d('total_reads_processed'))}, writes ${per(d('total_writes_processed'))}, ` +
    `bytes in ${(d('total_net_input_bytes') / requests).toFixed(0)}, out ${(d('total_net_output_bytes') / requests).toFixed(0)}\n  redis-server commands per request (in-call µs each): ${cmds.join(', ')}`
  );
}
