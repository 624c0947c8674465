import { join } from 'node:path';
import { Redis } from 'ioredis';
import { SessiondStore } from '../../src/adapters/express.js';

/**
 * What bench/global-through-cpu.ts and bench/global-back-cpu.ts share: the store calls an
 * express-session request makes (get, then set when it changed the session or touch when
 * not), inside the turn sessiondSerialize takes, and the clean-up of a run's Redis keys.
 */

type Cb<T> = (err: unknown, v?: T) => void;

/** The callback store API express-session calls (an adapter's store, or connect-redis). */
export interface StoreLike {
  get(id: string, cb: Cb<Record<string, unknown> | null>): void;
  set(id: string, s: Record<string, unknown>, cb: Cb<void>): void;
  touch(id: string, s: Record<string, unknown>, cb: Cb<void>): void;
}

/** The stores of a through-path bench, how a request takes its session's turn on store `i`, and what closes them. */
export interface BenchStores {
  readonly stores: StoreLike[];
  readonly lock: (i: number, id: string) => Promise<() => void>;
  readonly closers: Array<() => Promise<unknown>>;
}

/**
 * Two sessiond servers, `global(i)` being server i's global options; without `global`, one
 * embedded store serving both sides (what the adapter and the local engine cost alone).
 */
export async function sessiondStores(base: string, global?: (i: number) => object): Promise<BenchStores> {
  if (global === undefined) {
    const x = new SessiondStore({ dir: join(base, 'local') });
    await x.engine();
    return { stores: [x, x] as unknown as StoreLike[], lock: (_i, id) => x.lock(id), closers: [() => x.close()] };
  }
  const s = [0, 1].map((i) => new SessiondStore({ dir: join(base, `s${i}`), global: global(i) as never }));
  for (const x of s) await x.engine();
  return { stores: s as unknown as StoreLike[], lock: (i, id) => s[i]!.lock(id), closers: s.map((x) => () => x.close()) };
}

export const call = <T>(f: (cb: Cb<T>) => void): Promise<T> => new Promise((res, rej) => f((e, v) => (e ? rej(e) : res(v as T))));

/** One request: the turn, the read, then an increment of `counter` (`change`) or a touch. */
export async function expressRequest(s: StoreLike, lock: () => Promise<() => void>, id: string, change: boolean): Promise<void> {
  const release = await lock();
  try {
    const sess = (await call<Record<string, unknown> | null>((cb) => s.get(id, cb)))!;
    if (change) {
      sess.counter = (sess.counter as number) + 1;
      await call<void>((cb) => s.set(id, sess, cb));
    } else await call<void>((cb) => s.touch(id, sess, cb));
  } finally {
    release();
  }
}

/**
 * Runs `n` requests, one loop per session (each loop's requests one after another, the
 * loops at once): the process's CPU and the wall time they took, and the CPU per request
 * as the CPU benches print it.
 */
export async function runLoops(ids: readonly string[], n: number, request: (i: number, id: string) => Promise<void>): Promise<{ perRequest: string; wallMs: number }> {
  let left = n;
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  await Promise.all(
    ids.map(async (id, c) => {
      for (let i = c; left-- > 0; i++) await request(i, id);
    }),
  );
  const cpu = process.cpuUsage(t0);
  const wallMs = performance.now() - w0;
  return { perRequest: `${((cpu.user + cpu.system) / n).toFixed(0)} µs CPU/request (user ${(cpu.user / n).toFixed(0)}, system ${(cpu.system / n).toFixed(0)})`, wallMs };
}

/** Deletes the run's keys (the machine's Redis is shared: only keys under `prefix`). */
export async function dropRedisPrefix(url: string, prefix: string): Promise<void> {
  const admin = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await admin.del(...keys);
  } while (cursor !== '0');
  await admin.quit();
}
