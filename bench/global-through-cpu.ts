/**
 * CPU per request of the through path on Redis, in one process without HTTP: the express
 * adapter's store calls a request makes (lock, get, then touch, or set for 10% of them)
 * on two sessiond "servers" sharing the machine's Redis, each request on the other server
 * than the last, 32 sessions at once; beside connect-redis (node-redis 5) doing the same
 * get + touch/set. process.cpuUsage per request, which the machine's load moves far less
 * than req/s or the HTTP bench (bench/global-http.ts), so two builds can be compared
 * interleaved: `node <dist>/bench/global-through-cpu.js [requests] [sessiond|sessiond-local|connect-redis] [sessions]`.
 * Each round also prints redis-server's CPU, I/O and commands per request (bench/lib/redis-window.ts; a private Redis
 * through SESSIOND_BENCH_REDIS, or every client's commands count).
 */
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisSnapshot, redisWindow } from './lib/redis-window.js';
import { call, dropRedisPrefix, expressRequest, runLoops, sessiondStores, type StoreLike } from './lib/express-request.js';

const N = Number(process.argv[2] ?? 10_000);
const kind = process.argv[3] ?? 'sessiond';
/** Sessions served at once (argv[4], default 32); 1 sends every Redis command alone, as a lightly loaded HTTP server does. */
const SESSIONS = Number(process.argv[4] ?? 32);
const URL = process.env.SESSIOND_BENCH_REDIS ?? 'redis://127.0.0.1:6379';
const prefix = `sessiond-through-cpu:${process.pid}:`;

const base = mkdtempSync(join(tmpdir(), 'sessiond-through-cpu-'));
let stores: StoreLike[];
let lock: (s: number, id: string) => Promise<() => void>;
const closers: Array<() => Promise<unknown>> = [];
if (kind === 'sessiond' || kind === 'sessiond-local') {
  const global = kind === 'sessiond' ? (i: number) => ({ redis: { url: URL }, keyPrefix: prefix, app: 'cpu', serverId: `cpu-${i}` }) : undefined;
  const b = await sessiondStores(base, global);
  ({ stores, lock } = b);
  closers.push(...b.closers);
} else {
  const { createClient } = await import('redis');
  const { RedisStore } = createRequire(import.meta.url)('connect-redis') as { RedisStore: new (o: object) => StoreLike };
  stores = [];
  for (let i = 0; i < 2; i++) {
    const c = createClient({ url: URL });
    await c.connect();
    stores.push(new RedisStore({ client: c, prefix }));
    closers.push(() => c.quit());
  }
  lock = () => Promise.resolve(() => undefined);
}

const ids = Array.from({ length: SESSIONS }, (_, i) => `ThroughCpu${String(i).padStart(6, '0')}xxxxxxxxxxx`);
for (const id of ids) await call<void>((cb) => stores[0]!.set(id, { cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' }, counter: 0 }, cb));

function request(i: number, id: string): Promise<void> {
  return expressRequest(stores[i % 2]!, () => lock(i % 2, id), id, i % 10 === 9);
}

async function run(n: number): Promise<string> {
  const from = kind === 'sessiond-local' ? undefined : await redisSnapshot(URL);
  const { perRequest, wallMs } = await runLoops(ids, n, request);
  const redis = from === undefined ? '' : '\n' + redisWindow(from, await redisSnapshot(URL), n);
  return `${kind}: ${perRequest}, ${(n / (wallMs / 1000)).toFixed(0)} req/s${redis}`;
}

await run(Math.min(2000, N)); // warm-up
for (let r = 0; r < 2; r++) console.log(await run(N));
for (const close of closers) await close();
rmSync(base, { recursive: true, force: true });
await dropRedisPrefix(URL, prefix);
