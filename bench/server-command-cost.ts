/**
 * The CPU cost of sessiond serve's command path without sockets or the kernel: the parser,
 * dispatch, the command, reply encoding and the connection's ordering, driven through a
 * real Connection over an in-memory socket, one command per read as redis-benchmark -P 1
 * sends them (or `pipeline` per read). Prints µs of CPU (process.cpuUsage) per command.
 *
 *   node dist/bench/server-command-cost.js [commands=200000] [pipeline=1] [ping,set,get]
 *
 * SETs are durable (durability fsync, the default): their cost includes the engine's.
 * On a loaded machine compare CPU µs per command, not wall time.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { serve } from '../src/server/server.js';
import { Connection } from '../src/server/connection.js';
import type { ServerContext } from '../src/server/command-context.js';

const N = Number(process.argv[2] ?? 200_000);
const PIPELINE = Number(process.argv[3] ?? 1);
/** which phases to run, comma-separated (default all) */
const ONLY = (process.argv[4] ?? 'ping,set,get').split(',');
const KEYS = 100_000;

/** Enough of net.Socket for a Connection: writes are counted and dropped. */
class MemorySocket extends EventEmitter {
  remoteAddress = '127.0.0.1';
  remotePort = 1;
  writableLength = 0;
  written = 0;
  writes = 0;
  setNoDelay(): void {}
  setTimeout(): void {}
  pause(): void {}
  resume(): void {}
  destroy(): void {}
  end(): void {}
  write(b: Buffer): boolean {
    this.writes++;
    this.written += b.length;
    return true;
  }
}

function command(...args: string[]): Buffer {
  return Buffer.from(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
}

const dir = mkdtempSync(join(tmpdir(), 'sessiond-bench-command-cost-'));
const server = await serve({ dir, port: 0 });
const ctx: ServerContext = {
  engine: server.engine,
  loading: () => false,
  clock: server.engine.clock,
  durability: 'fsync',
  options: server.options,
  startedAtMs: Date.now(),
  stats: { ...server.stats },
  clients: () => [],
  listeningOn: () => server.address,
  port: () => server.port ?? 0,
};
const socket = new MemorySocket();
const conn = new Connection(socket as unknown as Socket, ctx, 1, () => undefined);
const value = 'x'.repeat(200);

async function phase(name: string, make: (i: number) => Buffer): Promise<void> {
  if (!ONLY.includes(name.toLowerCase())) return;
  const chunks: Buffer[] = [];
  for (let i = 0; i < N; i += PIPELINE) chunks.push(Buffer.concat(Array.from({ length: Math.min(PIPELINE, N - i) }, (_, j) => make(i + j))));
  const writes0 = socket.writes;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // One read at a time, each answered before the next, as a -P client does; 50 such clients
  // would interleave, which only changes how many SETs share an fsync.
  for (const c of chunks) {
    socket.emit('data', c);
    await conn.whenAnswered();
  }
  const cpu = process.cpuUsage(cpu0);
  const ms = performance.now() - t0;
  console.log(`${name.padEnd(5)} -P ${PIPELINE}: ${((cpu.user + cpu.system) / N).toFixed(2)} µs CPU/command (user ${(cpu.user / N).toFixed(2)}), ${Math.round((N / ms) * 1000)} commands/s wall, ${socket.writes - writes0} writes`);
}

await phase('PING', () => command('PING'));
await phase('SET', (i) => command('SET', `key:${String(i % KEYS).padStart(12, '0')}`, value));
await phase('GET', (i) => command('GET', `key:${String((i * 7919) % KEYS).padStart(12, '0')}`));
await server.close();
rmSync(dir, { recursive: true, force: true });
