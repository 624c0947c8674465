/**
 * `npm run bench:server`: redis-benchmark -t ping,set,get at 50 clients, -P 1 and -P 16,
 * against `sessiond serve` (durability fsync: every SET durable before its reply) and
 * against redis-server started here on free loopback ports with appendfsync always (the same
 * durability), appendfsync everysec, and no persistence. Prints a markdown table
 * (docs/benchmarks.md, "sessiond serve against redis-server").
 * BENCH_REQUESTS sets -n (default 100000).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeLoopbackPort } from './lib/free-port.js';
import { stopProcess } from './lib/stop-process.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 100_000);

interface Target {
  name: string;
  start(dir: string, port: number): Promise<number>; // resolves the pid once it serves
}

function spawnAndWait(cmd: string, args: string[], ready: (out: string) => boolean): Promise<number> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (ready(out)) resolve(child.pid!);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${cmd} exited (${code}):\n${out}`)));
  });
}

const redis = (name: string, persistence: string[]): Target => ({
  name,
  start: (dir, port) =>
    spawnAndWait('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', ...persistence], (out) => out.includes('Ready to accept connections')),
});

const TARGETS: Target[] = [
  { name: 'sessiond serve (fsync)', start: (dir, port) => spawnAndWait(process.execPath, [CLI, 'serve', join(dir, 'store'), '--port', String(port)], (out) => out.includes('sessiond serving')) },
  redis('redis-server appendfsync always', ['--appendonly', 'yes', '--appendfsync', 'always']),
  redis('redis-server appendfsync everysec', ['--appendonly', 'yes', '--appendfsync', 'everysec']),
  redis('redis-server no persistence', ['--appendonly', 'no']),
];

function redisBenchmark(port: number, pipeline: number): Promise<Map<string, { rps: number; p50: number; p99: number }>> {
  const args = ['-p', String(port), '-t', 'ping,set,get', '-n', String(REQUESTS), '-c', '50', '-P', String(pipeline), '-r', '100000', '-d', '200', '--csv'];
  return new Promise((resolve, reject) => {
    const child = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`redis-benchmark exited ${code}: ${out}`));
      const rows = new Map<string, { rps: number; p50: number; p99: number }>();
      const lines = out.trim().split('\n');
      const header = JSON.parse(`[${lines[0]}]`) as string[];
      for (const line of lines.slice(1)) {
        const cols = JSON.parse(`[${line}]`) as string[];
        const col = (name: string): number => Number(cols[header.indexOf(name)]);
        rows.set(cols[0]!, { rps: col('rps'), p50: col('p50_latency_ms'), p99: col('p99_latency_ms') });
      }
      resolve(rows);
    });
  });
}

const lines = ['| target | -P | PING rps | SET rps | SET p50 / p99 ms | GET rps | GET p50 / p99 ms |', '| --- | --- | --- | --- | --- | --- | --- |'];
for (const target of TARGETS) {
  const dir = mkdtempSync(join(tmpdir(), 'sessiond-bench-server-'));
  const port = await freeLoopbackPort();
  const pid = await target.start(dir, port);
  try {
    for (const pipeline of [1, 16]) {
      const r = await redisBenchmark(port, pipeline);
      const ping = r.get('PING_MBULK')!;
      const set = r.get('SET')!;
      const get = r.get('GET')!;
      const k = (n: number): string => Math.round(n).toLocaleString('en-US');
      lines.push(`| ${target.name} | ${pipeline} | ${k(ping.rps)} | ${k(set.rps)} | ${set.p50} / ${set.p99} | ${k(get.rps)} | ${get.p50} / ${get.p99} |`);
      console.error(lines.at(-1));
    }
  } finally {
    await stopProcess(pid);
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(lines.join('\n'));
