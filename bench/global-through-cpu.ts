/**
 * CPU per request of the through path on Redis, in one process without HTTP: the express
 * adapter's store calls a request makes (lock, get, then touch, or set for 10% of them)
 * on two sessiond "servers" sharing the machine's Redis, each request on the other server
 * than the last, 32 sessions at once; beside connect-redis (node-redis 5) doing the same
 * get + touch/set. process.cpuUsage per request, which the machine's load moves far less
 * than req/s or the HTTP bench (bench/global-http.ts), so two builds can be compared
 * interleaved: `node <dist>/bench/global-through-cpu.js [requests] [sessiond|connect-redis]`.
 */
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { SessiondStore } from '../src/adapters/express.js';

type Cb<T> = (err: unknown, v?: T) => void;
interface StoreLike {
  get(id: string, cb: Cb<Record<string, unknown> | null>): void;
  set(id: string, s: Record<string, unknown>, cb: Cb<void>): void;
  touch(id: string, s: Record<string, unknown>, cb: Cb<void>): void;
}

const N = Number(process.argv[2] ?? 10_000);
const kind = process.argv[3] ?? 'sessiond';
const SESSIONS = 32;
const URL = process.env.SESSIOND_BENCH_REDIS ?? 'redis://127.0.0.1:6379';
const prefix = `sessiond-through-cpu:${process.pid}:`;
const call = <T>(f: (cb: Cb<T>) => void): Promise<T> => new Promise((res, rej) => f((e, v) => (e ? rej(e) : res(v as T))));

const base = mkdtempSync(join(tmpdir(), 'sessiond-through-cpu-'));
let stores: StoreLike[];
let lock: (s: number, id: string) => Promise<() => void>;
const closers: Array<() => Promise<unknown>> = [];
if (kind === 'sessiond') {
  const s = [0, 1].map((i) => new SessiondStore({ dir: join(base, `s${i}`), global: { redis: { url: URL }, keyPrefix: prefix, app: 'cpu', serverId: `cpu-${i}` } }));
  for (const x of s) await x.engine();
  stores = s as unknown as StoreLike[];
  lock = (i, id) => s[i]!.lock(id);
  for (const x of s) closers.push(() => x.close());
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

async function request(i: number, id: string): Promise<void> {
  const s = stores[i % 2]!;
  const release = await lock(i % 2, id);
  try {
    const sess = (await call<Record<string, unknown> | null>((cb) => s.get(id, cb)))!;
    if (i % 10 === 9) {
      sess.counter = (sess.counter as number) + 1;
      await call<void>((cb) => s.set(id, sess, cb));
    } else await call<void>((cb) => s.touch(id, sess, cb));
  } finally {
    release();
  }
}

async function run(n: number): Promise<string> {
  let left = n;
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  await Promise.all(
    ids.map(async (id, c) => {
      for (let i = c; left-- > 0; i++) await request(i, id);
    }),
  );
  const cpu = process.cpuUsage(t0);
  return `${kind}: ${((cpu.user + cpu.system) / n).toFixed(0)} µs CPU/request (user ${(cpu.user / n).toFixed(0)}, system ${(cpu.system / n).toFixed(0)}), ${(n / ((performance.now() - w0) / 1000)).toFixed(0)} req/s`;
}

await run(Math.min(2000, N)); // warm-up
for (let r = 0; r < 2; r++) console.log(await run(N));
for (const close of closers) await close();
rmSync(base, { recursive: true, force: true });
const admin = new Redis(URL);
let cursor = '0';
do {
  const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
  cursor = next;
  if (keys.length > 0) await admin.del(...keys);
} while (cursor !== '0');
await admin.quit();
