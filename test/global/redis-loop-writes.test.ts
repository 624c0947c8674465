/**
 * One socket write per event-loop iteration on the client sessiond opens (kind: integration,
 * real Redis; src/global/redis/loop-writes.ts): the commands sent by the callbacks of one
 * iteration leave in one writev, each its own command with its own answer, without ioredis's
 * auto-pipeline (one write of one string). An application's client is left as it is.
 * Counted at node's socket, so a regression to a write per command, per callback, or back
 * to the auto-pipeline shows here.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { Redis } from 'ioredis';
import { writePerLoop } from '../../src/global/redis/loop-writes.js';
import type { RedisArg } from '../../src/global/redis/redis-types.js';
import { REDIS_URL, redisMissing, RedisTestPrefix } from './redis-harness.js';

type Write = { chunks: number };

/** Every socket write made while `fn` runs: one entry per write (writev: its chunk count). */
async function socketWrites(fn: () => Promise<unknown>): Promise<Write[]> {
  const proto = Socket.prototype as unknown as { _write: (...a: unknown[]) => unknown; _writev: (...a: unknown[]) => unknown };
  const [write, writev] = [proto._write, proto._writev];
  const seen: Write[] = [];
  proto._write = function (this: unknown, ...a: unknown[]) {
    seen.push({ chunks: 1 });
    return write.apply(this, a);
  };
  proto._writev = function (this: unknown, ...a: unknown[]) {
    seen.push({ chunks: (a[0] as unknown[]).length });
    return writev.apply(this, a);
  };
  try {
    await fn();
  } finally {
    proto._write = write;
    proto._writev = writev;
  }
  return seen;
}

const ids = Array.from({ length: 8 }, (_, i) => `TickWrites${i}xxxxxxxxxxxxxxx`);
const record = (attrs: string) => ({ attrs, createdAtMs: 1, lastAccessAtMs: 1, expiresAtMs: Date.now() + 60_000, maxInactiveMs: 0 });

/** A store of its own app on `r` (the client it opens from the URL) and a lease on it. */
async function leased(r: RedisTestPrefix, app: string, over: { replicaAckMs?: number } = {}) {
  const s = await r.store({ app, ...over });
  await s.migrate();
  return { s, me: await s.acquireLease(`srv-${app}`, 60_000) };
}

/** `fn` on a leased store of its own app (skipped without Redis); the app's keys dropped after. */
async function onLeased(t: TestContext, app: string, over: { replicaAckMs?: number }, fn: (x: Awaited<ReturnType<typeof leased>>) => Promise<void>): Promise<void> {
  if ((await redisMissing()) !== undefined) return t.skip('Redis not reachable');
  const r = RedisTestPrefix.standalone();
  try {
    await fn(await leased(r, app, over));
  } finally {
    await r.drop();
  }
}

test('the store\'s own client: the loads of one tick leave in one writev of one command each, each answered as itself', (t) =>
  onLeased(t, 'loop-writes', {}, async ({ s, me }) => {
    for (const id of ids.slice(0, 4)) assert.equal(await s.create(me, id, record(id)), true);
    // The load script is cached after this one (a fresh Redis answers its first EVALSHA with NOSCRIPT, then the EVAL goes in a write of its own).
    await s.load(ids[0]!);
    let loaded: unknown[] = [];
    const writes = await socketWrites(async () => {
      loaded = await Promise.all(ids.map((id) => s.load(id)));
    });
    assert.deepEqual(writes, [{ chunks: ids.length }], 'one writev, one chunk per command');
    assert.deepEqual(
      loaded.map((x) => (x as { attrs?: string } | undefined)?.attrs),
      ids.map((id, i) => (i < 4 ? id : undefined)),
    );
    // The next iteration's commands are a write of their own (the socket was uncorked).
    const again = await socketWrites(() => s.load(ids[0]!));
    assert.deepEqual(again, [{ chunks: 1 }]);
  }));

test('the commands of two callbacks of one loop iteration (two requests that arrived together) leave in one writev', (t) =>
  onLeased(t, 'loop-writes-two', {}, async ({ s }) => {
    await s.load(ids[0]!); // the script cached
    const sent: Array<Promise<unknown>> = [];
    const writes = await socketWrites(async () => {
      // Two immediates queued together run in one check phase, each its own callback (its own ticks).
      await new Promise<void>((done) => {
        setImmediate(() => sent.push(s.load(ids[0]!)));
        setImmediate(() => {
          sent.push(s.load(ids[1]!));
          done();
        });
      });
      await Promise.all(sent);
    });
    assert.deepEqual(writes, [{ chunks: 2 }], 'one writev for both callbacks');
  }));

test('with replicaAckMs, the changes of one tick (each a script and its WAIT) leave in one writev too', (t) =>
  onLeased(t, 'loop-writes-ack', { replicaAckMs: 20 }, async ({ s, me }) => {
    // Acknowledged or not (the machine's Redis may have no replica), the script is loaded after this one.
    await s.create(me, 'TickAckWarmxxxxxxxxxxxxxx', record('x')).catch(() => undefined);
    const writes = await socketWrites(() => Promise.allSettled(ids.slice(0, 3).map((id) => s.create(me, id, record('x')))));
    assert.deepEqual(writes, [{ chunks: 3 }], 'one writev, one chunk per pipeline');
  }));

test('a command sent while the connection is not ready yet is queued by ioredis and answered once connected', async (t) => {
  if ((await redisMissing()) !== undefined) return t.skip('Redis not reachable');
  const c = new Redis(REDIS_URL, { lazyConnect: true });
  c.on('error', () => undefined);
  try {
    const batched = writePerLoop({ call: (cmd: string, ...a: RedisArg[]) => c.call(cmd, ...a), quit: () => c.quit() }, c);
    assert.equal(await batched.call('PING'), 'PONG');
    assert.deepEqual(await Promise.all([batched.call('ECHO', 'a'), batched.call('ECHO', 'b')]), ['a', 'b']);
  } finally {
    c.disconnect();
  }
});

test('an application\'s client is not corked: its commands go out as its own options say', async (t) => {
  if ((await redisMissing()) !== undefined) return t.skip('Redis not reachable');
  const app = new Redis(REDIS_URL);
  app.on('error', () => undefined);
  const r = RedisTestPrefix.standalone();
  try {
    await app.ping();
    const s = await r.store({ redis: app, app: 'loop-writes-app' });
    await s.migrate();
    const writes = await socketWrites(() => Promise.all(ids.slice(0, 3).map((id) => s.load(id))));
    assert.deepEqual(writes, [{ chunks: 1 }, { chunks: 1 }, { chunks: 1 }], 'a write per command, as ioredis does without auto-pipelining');
  } finally {
    await r.drop();
    app.disconnect();
  }
});
