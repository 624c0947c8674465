/**
 * Back mode's hand-over subscriber when its connection drops (kind: integration, the
 * machine's Redis behind a TCP proxy the test cuts, own key prefix). ioredis reconnects a
 * dropped connection and re-subscribes by itself, sending SUBSCRIBE with nobody awaiting
 * it: one that timed out on a connection that came back stalled was an unhandled rejection
 * (CI, global-outage-redis: "generated asynchronous activity after the test ended ...
 * Command timed out"). The subscriber's connection now never reconnects: the listener ends
 * with it, and the server subscribes again at its next poll (offline-gate.ts).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { RedisGlobalStore } from '../../src/global/redis/redis-global-store.js';
import type { HandoverListener } from '../../src/global/global-store.js';
import { REDIS_URL, redisMissing, RedisTestPrefix } from './redis-harness.js';
import { TcpCutProxy } from './tcp-cut-proxy.js';
import { sleep, until } from './until.js';
import { w } from './contract-records.js';

const REDIS_PORT = Number(new URL(REDIS_URL).port || 6379);
/**
 * The store's command timeout: a re-subscribe held by the proxy fails well within the test's
 * wait. Not shorter: it also bounds the test's own first SUBSCRIBE on a new connection through
 * the proxy, which timed out at 300 ms on a loaded machine (load 25).
 */
const TIMEOUT_MS = 2000;

describe('the hand-over subscriber when its connection to Redis drops', () => {
  let r: RedisTestPrefix | undefined;
  let proxy: TcpCutProxy;
  const appClients: Redis[] = [];

  before(async () => {
    if ((await redisMissing()) !== undefined) return;
    r = RedisTestPrefix.standalone();
    proxy = await TcpCutProxy.start(REDIS_PORT);
  });
  after(async () => {
    await proxy?.close();
    await r?.drop();
    for (const c of appClients) c.disconnect();
  });

  const sources: Array<[string, () => { url: string } | Redis]> = [
    ['a client the store opens', () => ({ url: `redis://127.0.0.1:${proxy.port}` })],
    [
      "the application's own client",
      () => {
        const c = new Redis(`redis://127.0.0.1:${proxy.port}`, { commandTimeout: TIMEOUT_MS });
        c.on('error', () => undefined);
        appClients.push(c);
        return c;
      },
    ],
  ];

  for (const [name, source] of sources) {
    it(`${name}: the listener ends with its connection, nothing re-subscribes unawaited, and subscribing again works once healed`, async (t) => {
      if (r === undefined) return t.skip('Redis not reachable');
      const unhandled: unknown[] = [];
      const onUnhandled = (e: unknown): void => void unhandled.push(e);
      process.on('unhandledRejection', onUnhandled);
      const app = `sub-drop-${appClients.length}`;
      let l: HandoverListener | undefined;
      try {
        const s: RedisGlobalStore = await r.store({ app, redis: source() as never, timeoutMs: TIMEOUT_MS });
        const first = await s.subscribe('srv-a', { handover: () => undefined, released: () => undefined });
        // The connection drops and Redis is back at once (ioredis's first reconnect, 50 ms later,
        // would succeed without an error event), but stalls: a re-subscribe would time out unawaited.
        proxy.cut();
        proxy.heal();
        proxy.stall('subscribe');
        await sleep(3 * TIMEOUT_MS);
        assert.deepEqual(unhandled.map(String), []);
        assert.equal(proxy.held, '', 'nothing re-subscribed on the connection that ended');
        assert.equal(first.live, false);

        proxy.heal();
        const seen: string[] = [];
        l = await s.subscribe('srv-a', { handover: (id) => seen.push(id), released: () => undefined });
        const a = await s.acquireLease('srv-a', 10_000);
        const b = await s.acquireLease('srv-b', 10_000);
        await s.create(a, 'SubscriberDropAAAAAAAAAAA', w('x'), true);
        await s.requestHandover(b, 'SubscriberDropAAAAAAAAAAA');
        await until('the new subscription hears the hand-over request', () => seen.includes('SubscriberDropAAAAAAAAAAA'));
      } finally {
        await l?.close();
        process.off('unhandledRejection', onUnhandled);
      }
    });
  }
});
