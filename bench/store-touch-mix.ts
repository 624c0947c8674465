/**
 * The express-session Store calls of a 90/10 HTTP mix without HTTP: per request a `get`,
 * then a `touch` (9 in 10) or a `set` that changes the session (1 in 10), from `clients`
 * sessions each one request after another, `thinkMs` between requests (0: the next tick).
 * Prints the process CPU per request (every thread: the log's writev and fdatasync
 * included) and the log's fdatasyncs and write groups per request. One client with 1 ms
 * between requests is a lightly loaded server, where a group holds about one record.
 * Run: npx tsc -p tsconfig.json && node dist/bench/store-touch-mix.js [clients] [seconds] [thinkMs]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type session from 'express-session';
import { SessiondStore } from '../src/adapters/express.js';

const clients = Number(process.argv[2] ?? 1);
const seconds = Number(process.argv[3] ?? 4);
const thinkMs = Number(process.argv[4] ?? 1);

type Sess = session.SessionData & { counter: number };
const cb = <T>(f: (done: (err: unknown, v?: T) => void) => void): Promise<T> =>
  new Promise((ok, ko) => f((e, v) => (e ? ko(e) : ok(v as T))));

const dir = mkdtempSync(join(tmpdir(), 'sessiond-touch-mix-'));
const store = new SessiondStore({ dir });
try {
  const engine = await store.engine();
  const ids: string[] = [];
  for (let i = 0; i < clients; i++) {
    const id = store.generateId();
    ids.push(id);
    const fresh = { cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' }, counter: 0 } as unknown as Sess;
    await cb<void>((done) => store.set(id, fresh, done));
  }
  const before = (await engine.stats()).log;
  const cpu0 = process.cpuUsage();
  const stopAt = Date.now() + seconds * 1000;
  let requests = 0;
  await Promise.all(
    ids.map(async (id, k) => {
      for (let i = k; Date.now() < stopAt; i++) {
        const sess = await cb<Sess>((done) => store.get(id, done as (err: unknown, v?: session.SessionData | null) => void));
        if (i % 10 === 9) {
          sess.counter++;
          await cb<void>((done) => store.set(id, sess, done));
        } else {
          await cb<void>((done) => store.touch(id, sess, done));
        }
        requests++;
        await new Promise((r) => (thinkMs > 0 ? setTimeout(r, thinkMs) : setImmediate(r)));
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const after = (await engine.stats()).log;
  const per = (n: number): string => (n / requests).toFixed(3);
  console.log(
    `${clients} client(s), ${thinkMs} ms between requests: ${requests} requests, CPU ${((cpu.user + cpu.system) / requests).toFixed(0)} µs/request ` +
      `(system ${(cpu.system / requests).toFixed(0)}), log fdatasyncs ${per(after.syncs - before.syncs)}/request, write groups ${per(after.groups - before.groups)}/request`,
  );
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
