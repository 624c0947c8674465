/**
 * The CPU cost of sessiond serve's command path without sockets or the kernel: the parser,
 * dispatch, the command, reply encoding and the connection's ordering, driven through a
 * real Connection over an in-memory socket, one command per read as redis-benchmark -P 1
 * sends them (or `pipeline` per read). Prints µs of CPU (process.cpuUsage) per command.
 *
 *   node dist/bench/server-command-cost.js [commands=200000] [pipeline=1] [ping,set,get,setex,getex,expire,http] [clients=1] [flush]
 *
 * `set`/`get` are redis-benchmark's commands (`key:<n>`, its one 200-byte value, which holds
 * four backslashes: JSON escapes them, so a GET unescapes it); `setex`/`getex`
 * are a session store's: `SET sess:<id> <json> EX 86400` with a distinct ~400-byte JSON
 * session per write (as connect-redis sends), then GETs of those keys. `expire` is
 * connect-redis' touch, `EXPIRE sess:<id> <ttl>`, of those keys; `http` is the HTTP bench's
 * command mix (bench/http.ts through connect-redis): each request a GET of its session, then
 * an EXPIRE (9 in 10: a read) or a SET ... EX of the changed session (1 in 10: an increment),
 * so its µs per command times 2 is the server's CPU per HTTP request (on 32 sessions, as
 * the HTTP bench's 32 connections have: the flusher rewrites few). Both act on the
 * sessions `setex` wrote: name it before them (`setex,expire,http`).
 * SETs are durable (durability fsync, the default): their cost includes the engine's. With
 * `flush`, a SET phase ends once the flusher has also written its sessions into the database
 * file (engine.flush()): without it, what the flusher had not yet done when the last reply
 * came (up to flushIntervalMs of writes) is left out of the phase, or charged to the next.
 * SESSIOND_BENCH_ENGINE (JSON) passes engine options, e.g. '{"flushIntervalMs":3600000}' to
 * keep the flusher out of a phase. On a loaded machine compare CPU µs per command, not wall time.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { serve } from '../src/server/server.js';
import { Connection } from '../src/server/connection.js';
import type { ServerContext } from '../src/server/command-context.js';

const N = Number(process.argv[2] ?? 200_000);
const PIPELINE = Number(process.argv[3] ?? 1);
/** which phases to run, comma-separated (default all) */
const ONLY = (process.argv[4] ?? 'ping,set,get,setex,getex,expire,http').split(',');
const KEYS = 100_000;

/**
 * CPU of the main thread alone (Linux, /proc; NaN elsewhere), in µs: process.cpuUsage also
 * counts libuv's pool (each group's O_DSYNC write, whose kernel CPU follows the disk and the
 * group sizes) and V8's helper threads, which make the total noisy on a shared machine.
 */
function mainThreadUs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLOCK_TICKS_PER_S;
  } catch {
    return NaN;
  }
}
/** USER_HZ: /proc's CPU times are in these ticks (100 on Linux). */
const CLOCK_TICKS_PER_S = 100;

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
const server = await serve({ dir, port: 0, engine: JSON.parse(process.env.SESSIOND_BENCH_ENGINE ?? '{}') as Record<string, unknown> });
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
/** Connections, each sending its next read once the last is answered, as redis-benchmark -c does. */
const CLIENTS = Number(process.argv[5] ?? 1);
/** A SET phase includes the flush of what it wrote (see above). */
const FLUSH = process.argv[6] === 'flush';
const sockets = Array.from({ length: CLIENTS }, () => new MemorySocket());
const conns = sockets.map((s, c) => ({ socket: s, conn: new Connection(s as unknown as Socket, ctx, c + 1, () => undefined) }));
const writes = (): number => sockets.reduce((n, s) => n + s.writes, 0);
/** redis-benchmark's value for -d 200 (its genBenchmarkRandomData: '0' + 6 bits of an LCG a byte). */
function redisBenchmarkValue(bytes: number): string {
  let state = 1234;
  let out = '';
  for (let i = 0; i < bytes; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out += String.fromCharCode(0x30 + ((state >>> 16) & 63));
  }
  return out;
}
const value = redisBenchmarkValue(200);

async function phase(name: string, make: (i: number) => Buffer): Promise<void> {
  if (!ONLY.includes(name.toLowerCase())) return;
  const chunks: Buffer[] = [];
  for (let i = 0; i < N; i += PIPELINE) chunks.push(Buffer.concat(Array.from({ length: Math.min(PIPELINE, N - i) }, (_, j) => make(i + j))));
  const writes0 = writes();
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadUs();
  const t0 = performance.now();
  // Each connection sends one read at a time, each answered before its next, as a -P client
  // does; the number of clients sets how many SETs share a group commit (an fsync).
  let next = 0;
  await Promise.all(
    conns.map(async ({ socket, conn }) => {
      while (next < chunks.length) {
        socket.emit('data', chunks[next++]!);
        await conn.whenAnswered();
      }
    }),
  );
  if (FLUSH && !name.startsWith('GET') && name !== 'PING') await server.engine.flush();
  const cpu = process.cpuUsage(cpu0);
  const mainUs = mainThreadUs() - main0;
  const ms = performance.now() - t0;
  console.log(`${name.padEnd(5)} -P ${PIPELINE} -c ${CLIENTS}: ${((cpu.user + cpu.system) / N).toFixed(2)} µs CPU/command (user ${(cpu.user / N).toFixed(2)}), ${Math.round((N / ms) * 1000)} commands/s wall, ${writes() - writes0} writes; main thread ${(mainUs / N).toFixed(2)} µs/command`);
}

await phase('PING', () => command('PING'));
await phase('SET', (i) => command('SET', `key:${String(i % KEYS).padStart(12, '0')}`, value));
await phase('GET', (i) => command('GET', `key:${String((i * 7919) % KEYS).padStart(12, '0')}`));
/** A distinct express-session-like JSON session for write `i`, as connect-redis sends it. */
function session(i: number): string {
  const user = { id: i, name: `user${i}`, roles: ['reader', i % 3 === 0 ? 'editor' : 'guest'], csrf: (i * 2654435761).toString(36) };
  const cart = Array.from({ length: 1 + (i % 4) }, (_, j) => ({ sku: `sku-${(i + j) % 997}`, qty: 1 + ((i >> j) & 3) }));
  return JSON.stringify({ cookie: { originalMaxAge: 86_400_000, expires: new Date(1.8e12 + i * 1000).toISOString(), httpOnly: true, path: '/' }, user, cart, views: i });
}
const sessionKey = (i: number): string => `sess:${(i * 40503).toString(36).padStart(8, '0')}-${String(i % KEYS).padStart(20, '0')}`;
await phase('SETEX', (i) => command('SET', sessionKey(i % KEYS), session(i), 'EX', '86400'));
await phase('GETEX', (i) => command('GET', sessionKey((i * 7919) % KEYS)));
/** connect-redis' TTL: the seconds left of the cookie's maxAge, a day less a few seconds. */
const ttl = (i: number): string => String(86_400 - (i % 7));
await phase('EXPIRE', (i) => command('EXPIRE', sessionKey((i * 7919) % KEYS), ttl(i)));
/** The HTTP bench's sessions: one per autocannon connection. */
const HTTP_SESSIONS = 32;
await phase('HTTP', (i) => {
  const request = i >> 1;
  const key = sessionKey(request % HTTP_SESSIONS);
  if ((i & 1) === 0) return command('GET', key);
  return request % 10 === 0 ? command('SET', key, session(request), 'EX', ttl(i)) : command('EXPIRE', key, ttl(i));
});
await server.close();
rmSync(dir, { recursive: true, force: true });
