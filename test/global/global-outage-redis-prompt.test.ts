/**
 * Refusals while standalone Redis is cut off come promptly, not after leaseMs (kind:
 * integration, the machine's Redis behind a TCP proxy the test cuts, own key prefix;
 * docs/failover.md §What each failure costs; issue 11). ioredis queues a command while it
 * reconnects and keeps one that was in flight when the connection dropped: without the
 * offline gate (src/global/redis/offline-gate.ts) either waits for the command timeout,
 * leaseMs. The leases here are long (LEASE_MS) so that "prompt" is unmistakable: each
 * refusal must come within a third of it, and be the gate's (its context names
 * offlineWaitMsMax), and the sessions a back-mode server holds are still served from its
 * local engine meanwhile, written back once healed.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { isSessiondError } from '../../src/errors.js';
import { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import type { GlobalStore } from '../../src/global/global-store.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import { REDIS_URL, redisMissing, RedisTestPrefix } from './redis-harness.js';
import { TcpCutProxy, closeBehind } from './tcp-cut-proxy.js';
import { until } from './until.js';

const HOUR = 3_600_000;
const LEASE_MS = 30_000;
const PROMPT_MS = LEASE_MS / 3;
const redisPort = Number(new URL(REDIS_URL).port || 6379);

/** Awaits `p`, which must fail with the gate's 503 within PROMPT_MS of `from` (performance.now()). */
async function refusedPromptly(what: string, p: Promise<unknown>, from = performance.now()): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isSessiondError(e, 'SESSIOND_GLOBAL_UNAVAILABLE') && e.status === 503, `${what}: ${String(e)}`);
    assert.equal(e.context.offlineWaitMsMax, 2000, `${what}: refused by the offline gate (${e.message})`);
    return true;
  });
  const ms = performance.now() - from;
  assert.ok(ms < PROMPT_MS, `${what}: refused after ${Math.round(ms)} ms, not within leaseMs / 3 (${PROMPT_MS} ms)`);
}

function open(r: RedisTestPrefix, port: number, serverId: string, mode: 'through' | 'back'): Promise<GlobalSessionEngine> {
  return GlobalSessionEngine.open({
    dir: '/s',
    fs: new SimFileSystem(),
    flushIntervalMs: HOUR,
    global: {
      redis: { url: `redis://127.0.0.1:${port}` },
      keyPrefix: r.prefix,
      app: 'prompt',
      serverId,
      mode,
      leaseMs: LEASE_MS,
      offlineWaitMsMax: 2000,
      writeBackMs: 50,
      handoverPollMs: 100,
      inheritIntervalMs: HOUR,
    },
  });
}

describe('while Redis is cut off, a request that needs it is refused within offlineWaitMsMax, not leaseMs', () => {
  let r: RedisTestPrefix | undefined;
  let proxy: TcpCutProxy;
  let a: GlobalSessionEngine; // back mode, behind the proxy
  let t: GlobalSessionEngine; // through mode, behind the proxy
  let b: GlobalSessionEngine; // back mode, direct
  let view: GlobalStore;
  const HELD = 'PromptRedisHeldAAAAAAAAAA';
  const OTHER = 'PromptRedisOtherAAAAAAAAA';
  const THROUGH = 'PromptRedisThroughAAAAAAA';
  before(async () => {
    if ((await redisMissing()) !== undefined) return;
    r = RedisTestPrefix.standalone();
    proxy = await TcpCutProxy.start(redisPort);
    a = await open(r, proxy.port, 'prompt-a', 'back');
    t = await open(r, proxy.port, 'prompt-t', 'through');
    b = await open(r, redisPort, 'prompt-b', 'back');
    view = await r.store({ app: 'prompt' });
  });
  after(async () => {
    await closeBehind(proxy, [a, t, b]);
    await r?.drop();
  });
  const n = (e: GlobalSessionEngine, id: string): number => {
    const s = e.local.get(id);
    return s === undefined ? -1 : Number(attributesFromBlob(s.attrs).get('n'));
  };
  const increment = async (e: GlobalSessionEngine, id: string): Promise<void> => {
    const release = await e.lock(id);
    try {
      await e.save(id, { attributes: { n: String(n(e, id) + 1) } });
    } finally {
      release();
    }
  };
  const stored = async (id: string): Promise<number | undefined> => {
    const x = await view.load(id);
    return x === undefined ? undefined : Number(attributesFromBlob(x.attrs).get('n'));
  };

  it('a command in flight when the connection drops, one sent while it reconnects, in both modes; the held sessions served meanwhile', async (tc) => {
    if (r === undefined) return tc.skip('Redis not reachable');
    await increment(a, HELD); // 0: held by a
    await increment(b, OTHER); // 0: held by b
    await increment(t, THROUGH); // 0
    await until('the created records are in Redis', async () => (await stored(HELD)) === 0 && (await stored(OTHER)) === 0, 800);

    // In flight: a asks for b's session; its command reaches the proxy and goes no further, then the connection drops.
    // Held from that command on: one of a's own (a hand-over poll) sent a moment before goes
    // on and is answered, else ioredis's auto-pipeline would keep a's request behind it, unsent.
    proxy.stall(OTHER);
    const inFlight = a.lock(OTHER);
    inFlight.catch(() => undefined);
    await until('the turn request is on the wire', () => proxy.held.includes(OTHER), 800);
    const cutAt = performance.now();
    proxy.cut();
    await refusedPromptly('a command in flight when the connection dropped', inFlight, cutAt);

    // Sent while ioredis reconnects (its offline queue): each mode, an existing session and a new one.
    await refusedPromptly('back mode, a session another server holds', a.lock(OTHER));
    await refusedPromptly('back mode, a new session', a.save('PromptRedisBrandNewAAAAAA', { attributes: { n: '1' } }));
    await refusedPromptly('through mode, a change', t.save(THROUGH, { attributes: { n: '1' } }));
    await refusedPromptly('through mode, a turn', t.lock(THROUGH));

    // The session a holds is still served from its local engine, queued for write-back.
    for (let i = 0; i < 3; i++) await increment(a, HELD);
    assert.equal(n(a, HELD), 3);
    assert.equal((await a.stats()).global.writeBackPending, 1);
    assert.equal(await stored(HELD), 0);

    proxy.heal();
    await until('the backlog drained', async () => (await a.stats()).global.writeBackPending === 0, 800);
    assert.equal(await stored(HELD), 3);
    assert.equal((await a.stats()).global.writeBackLost, 0);
    // Through mode serves again once ioredis has reconnected (its next attempt may be a while off).
    await until('through mode serves again', () => increment(t, THROUGH).then(() => true, () => false), 800);
    assert.equal(await stored(THROUGH), 1);
  });
});
