/**
 * Real kill -9 loops of `sessiond serve` (kind: crash, real processes and the real file
 * system): connect-redis on node-redis writes and deletes sessions with many commands in
 * flight (node-redis pipelines them on its one connection); the server is SIGKILLed at a
 * random moment and restarted on the same port; the client reconnects by itself; every SET
 * and DEL that got its reply must have survived. SESSIOND_SERVER_KILL_LOOPS sets the number
 * of cycles (default 20; `npm run test:server-kill-long` runs 1,000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, type RedisClientType } from 'redis';
import { RedisStore } from 'connect-redis';
import type session from 'express-session';
import { Prng } from '../../src/util/prng.js';
import { removeDir, tempDir } from '../adapters/adapter-fixtures.js';
import { spawnServer } from './server-process.js';

const LOOPS = Number(process.env.SESSIOND_SERVER_KILL_LOOPS ?? 20);
const WORKERS = 24;
/** Grows with the cycles: 3 s a cycle timed out 200 cycles on 2 heavily loaded cores (720 s), with no failure seen. */
const TIMEOUT_MS = 120_000 + LOOPS * 10_000;

const cookie = { originalMaxAge: 3_600_000, expires: new Date(Date.now() + 3_600_000) };

test(`kill -9 of sessiond serve under pipelined connect-redis load, ${LOOPS} cycles: every acknowledged SET and DEL survives`, { timeout: TIMEOUT_MS }, async (t) => {
  const dir = tempDir('serve-kill');
  t.after(() => removeDir(dir));
  const prng = new Prng(Number(process.env.SESSIOND_SEED ?? 9));
  let server = await spawnServer(dir);
  const port = server.port;
  // disableClientInfo: node-redis 5.9 ignores every error of its CLIENT SETINFO handshake,
  // a connection reset included, so a reconnect that lands in the dying server's accept
  // backlog ends "ready" on a dead socket, for good (docs/server.md "Clients").
  const client = createClient({ url: `redis://127.0.0.1:${port}`, disableClientInfo: true, socket: { reconnectStrategy: () => 20 } }) as RedisClientType;
  client.on('error', () => undefined); // every kill is an error; the client reconnects by itself
  await client.connect();
  t.after(() => {
    client.destroy();
    server.child.kill('SIGKILL');
  });
  const store = new RedisStore({ client });
  const call = (fn: (cb: (err: unknown) => void) => void): Promise<void> => new Promise((ok, ko) => fn((err) => (err ? ko(err) : ok())));

  const ackedSet = new Map<string, string>(); // key → value, never deleted
  const ackedDel = new Set<string>();
  let seq = 0;
  let acks = 0;
  for (let cycle = 0; cycle < LOOPS; cycle++) {
    let stop = false;
    const worker = async (): Promise<void> => {
      while (!stop) {
        const sid = `c${cycle}-${seq++}`;
        const sess = { cookie, user: `u${sid}`, n: seq } as unknown as session.SessionData;
        const value = JSON.stringify(sess);
        try {
          await call((cb) => store.set(sid, sess, cb));
        } catch {
          return; // the server died under this write: not acknowledged, may or may not be there
        }
        acks++;
        if (seq % 4 !== 0) {
          ackedSet.set(`sess:${sid}`, value);
          continue;
        }
        try {
          await call((cb) => store.destroy(sid, cb));
          ackedDel.add(`sess:${sid}`);
          acks++;
        } catch {
          return;
        }
      }
    };
    await waitReady(client);
    const workers = Array.from({ length: WORKERS }, worker);
    // A real kill needs real time to pass under load; the moment is random within the run.
    await new Promise((r) => setTimeout(r, 30 + prng.int(200)));
    server.child.kill('SIGKILL');
    stop = true;
    await server.exited;
    server = await spawnServer(dir, ['--port', String(port)]);
    await Promise.all(workers);
    await waitReady(client);
    await verify(client, ackedSet, ackedDel, cycle);
  }
  assert.ok(acks > LOOPS * 10, `only ${acks} acknowledged writes over ${LOOPS} cycles`);
  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 0);
});

async function waitReady(client: RedisClientType): Promise<void> {
  while (!client.isReady) await new Promise((r) => setTimeout(r, 10));
  await client.ping();
}

async function verify(client: RedisClientType, ackedSet: Map<string, string>, ackedDel: Set<string>, cycle: number): Promise<void> {
  const keys = [...ackedSet.keys()];
  for (let i = 0; i < keys.length; i += 500) {
    const batch = keys.slice(i, i + 500);
    const values = await client.mGet(batch);
    batch.forEach((k, j) => assert.equal(values[j], ackedSet.get(k), `cycle ${cycle}: acknowledged SET of ${k} lost`));
  }
  const dels = [...ackedDel];
  for (let i = 0; i < dels.length; i += 500) {
    const batch = dels.slice(i, i + 500);
    const values = await client.mGet(batch);
    batch.forEach((k, j) => assert.equal(values[j], null, `cycle ${cycle}: acknowledged DEL of ${k} came back`));
  }
}
