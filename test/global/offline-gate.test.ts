/**
 * The Redis offline gate (kind: unit, a fake client with ioredis's connection state;
 * src/global/redis/offline-gate.ts): once connected, a command waits at most
 * offlineWaitMsMax for a lost connection, one in flight fails when the connection drops;
 * the first connection and lazy or ended clients go through as ioredis handles them.
 * The real thing, ioredis behind a TCP proxy the test cuts: global-outage-redis-prompt.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { isSessiondError } from '../../src/errors.js';
import { gateOffline } from '../../src/global/redis/offline-gate.js';
import { RedisGlobalStore } from '../../src/global/redis/redis-global-store.js';
import type { RedisArg, RedisClusterLike, RedisCommander } from '../../src/global/redis/redis-types.js';

/** A client whose commands stay pending until the test answers them. */
class FakeClient extends EventEmitter {
  status = 'ready';
  readonly sent: Array<{ args: RedisArg[]; answer(v: unknown): void }> = [];
  call(...args: RedisArg[]): Promise<unknown> {
    return new Promise((resolve) => this.sent.push({ args, answer: resolve }));
  }
  pipeline(commands: RedisArg[][]): { exec(): Promise<Array<[Error | null, unknown]>> } {
    return { exec: () => this.call('PIPELINE', commands.length) as Promise<Array<[Error | null, unknown]>> };
  }
  quit(): Promise<unknown> {
    return Promise.resolve('OK');
  }
  to(status: string): void {
    this.status = status;
    this.emit(status);
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const unavailable = (e: unknown): boolean => isSessiondError(e, 'SESSIOND_GLOBAL_UNAVAILABLE') && e.status === 503;

test('a command in flight when the connection drops fails at once with 503', async () => {
  const c = new FakeClient();
  const { client } = gateOffline(c, 60_000);
  const p = client.call('GET', 'k');
  await tick();
  assert.equal(c.sent.length, 1);
  c.to('close');
  await assert.rejects(p, (e: unknown) => unavailable(e) && /in flight/.test((e as Error).message));
});

test('while reconnecting, a command waits for the connection, and is sent once it is back', async () => {
  const c = new FakeClient();
  const { client } = gateOffline(c, 60_000);
  c.to('close');
  c.to('reconnecting');
  const p = client.call('GET', 'k');
  await tick();
  assert.equal(c.sent.length, 0, 'not queued in the client while it reconnects');
  c.to('ready');
  await tick();
  assert.equal(c.sent.length, 1);
  c.sent[0]!.answer('v');
  assert.equal(await p, 'v');
});

test('past offlineWaitMsMax without a connection, a command fails with 503 and is never sent', async () => {
  const c = new FakeClient();
  const { client } = gateOffline(c, 20);
  c.to('close');
  c.to('reconnecting');
  await assert.rejects(client.call('GET', 'k'), (e: unknown) => unavailable(e) && isSessiondError(e) && e.context.offlineWaitMsMax === 20 && e.context.status === 'reconnecting');
  await assert.rejects(client.pipeline!([['get', 'k']]).exec(), unavailable, 'a pipeline too');
  c.to('ready');
  await tick();
  assert.equal(c.sent.length, 0);
});

test('the first connection is left to the client: its commands queue there, and a close before it is ready fails none', async () => {
  const c = new FakeClient();
  c.status = 'connecting';
  const { client } = gateOffline(c, 20);
  const p = client.call('GET', 'k');
  await tick();
  assert.equal(c.sent.length, 1, 'handed to the client (its offline queue) at once');
  c.to('close'); // a cluster's first slot refresh failing, say
  c.to('reconnecting');
  await new Promise((r) => setTimeout(r, 40)); // past offlineWaitMsMax
  c.to('ready');
  c.sent[0]!.answer('v');
  assert.equal(await p, 'v');
});

test('a lazy client (wait) and an ended one (end) get their commands as they are', async () => {
  const c = new FakeClient();
  const { client } = gateOffline(c, 20);
  for (const status of ['wait', 'end']) {
    c.status = status;
    void client.call('GET', status);
    await tick();
    assert.deepEqual(c.sent.at(-1)!.args, ['GET', status]);
  }
});

test('a cluster keeps nodes(); a client without connection state is not wrapped', () => {
  const masters: RedisCommander[] = [{ call: async () => null }];
  const c = Object.assign(new FakeClient(), { nodes: () => masters });
  const { client } = gateOffline(c, 20);
  assert.equal((client as RedisClusterLike).nodes('master'), masters);
  const plain = { call: async () => null, quit: async () => 'OK' };
  assert.equal(gateOffline(plain, 20).client, plain);
});

test("closing the store stops the gate listening to an application's client", async () => {
  const c = new FakeClient();
  const store = await RedisGlobalStore.create({ redis: c, app: 'app', keyPrefix: 'gate-test:', sessionTtlMs: 60_000 });
  assert.equal(c.listenerCount('close'), 1);
  assert.equal(c.listenerCount('ready'), 1);
  await store.close();
  assert.equal(c.listenerCount('close'), 0);
  assert.equal(c.listenerCount('ready'), 0);
});

/** ioredis 5's internals the gate relies on for a client sessiond opened: `options.enableOfflineQueue` and `prevCommandQueue`. */
class FakeIoredis extends FakeClient {
  readonly options = { enableOfflineQueue: true };
  prevCommandQueue: Array<{ command: { reject(e: Error): void } }> | null = null;
  /** As ioredis's close handler: status 'close', then the commands it had sent set aside to send again. */
  drop(setAside: Array<{ command: { reject(e: Error): void } }>): void {
    this.to('close');
    this.prevCommandQueue = setAside;
  }
}

test('on a client sessiond opened, a refused command never runs later: no offline queue once connected, the set-aside commands settled', async () => {
  const c = new FakeIoredis();
  gateOffline(c, 60_000, true);
  assert.equal(c.options.enableOfflineQueue, false, 'ioredis refuses at once instead of queueing for after the reconnect');
  const refused: Error[] = [];
  c.drop([{ command: { reject: (e) => refused.push(e) } }, { command: { reject: (e) => refused.push(e) } }]);
  await tick();
  assert.equal(c.prevCommandQueue, null, 'nothing left for ioredis to send again once reconnected');
  assert.equal(refused.length, 2);
  assert.ok(refused.every(unavailable));

  // An application's own client keeps ioredis's behaviour.
  const app = new FakeIoredis();
  gateOffline(app, 60_000, false);
  assert.equal(app.options.enableOfflineQueue, true);
  const kept = [{ command: { reject: (): void => assert.fail('not the gate to settle') } }];
  app.drop(kept);
  await tick();
  assert.equal(app.prevCommandQueue, kept);
});
