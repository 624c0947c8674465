/**
 * Through mode's read answered at once, with no promise (kind: integration, real Redis; local
 * engines on the simulated file layer): under a turn this server holds and provably keeps
 * (the turn's statement sent less than turnMs ago, the lease lasting), getNow and the
 * adapters' EngineHandle.loadNow answer what get() would (the copy synced when the turn was
 * taken); they decline (undefined: the caller takes get()'s promise path, which reads the
 * record) without the turn, and once the lease cannot be proven. And lock(), which takes the
 * local turn at once when it is free: a turn across servers not got in time gives it back.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { ManualClock } from '../../src/clock.js';
import { isSessiondError } from '../../src/errors.js';
import { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import { resolveGlobalOptions } from '../../src/global/global-options.js';
import { EngineHandle } from '../../src/adapters/engine-handle.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import { redisMissing, RedisTestPrefix, REDIS_URL } from './redis-harness.js';

const HOUR = 3_600_000;
let n = 0;
const fresh = (): string => `ThroughNow${String(++n).padStart(4, '0')}xxxxxxxxxxxxx`;

describe('GlobalSessionEngine (through mode): getNow, and the turn lock() takes', () => {
  let redis: RedisTestPrefix | undefined;
  const engines: GlobalSessionEngine[] = [];
  before(async () => {
    if ((await redisMissing()) === undefined) redis = RedisTestPrefix.standalone();
  });
  after(async () => {
    for (const e of engines) await e.close().catch(() => undefined);
    await redis?.drop();
  });

  async function server(name: string, mono: { ms: number }, queueWaitMsMax = 10_000): Promise<GlobalSessionEngine> {
    const g = resolveGlobalOptions({ redis: { url: REDIS_URL }, app: 'app', serverId: name, keyPrefix: redis!.prefix, leaseMs: 60_000, heartbeatMs: 30_000, inheritIntervalMs: HOUR, cleanupIntervalMs: HOUR }, '/s');
    const store = await redis!.store();
    const e = await GlobalSessionEngine.compose({ dir: '/s', fs: new SimFileSystem(), flushIntervalMs: HOUR, expiryIntervalMs: HOUR, clock: new ManualClock(Date.now()), queueWaitMsMax }, g, store, () => mono.ms);
    engines.push(e);
    return e;
  }

  it("answers get()'s state under a held turn, the other server's version included; undefined without the turn or once the lease cannot be proven", async (t) => {
    if (redis === undefined) return t.skip('Redis not reachable');
    const mono = { ms: 1_000 };
    const [a, b] = [await server('now-a', mono), await server('now-b', mono)];
    const id = fresh();
    await a.save(id, { attributes: { n: '1' } });
    await b.save(id, { attributes: { n: '2' } }); // a's copy is now older than the record
    assert.equal(a.getNow(id), undefined, 'no turn held: get() reads the record');
    const release = await a.lock(id);
    try {
      const now = a.getNow(id);
      assert.ok(now !== undefined, 'the turn held and lasting: answered at once');
      const s = await a.get(id);
      assert.deepEqual([now.state?.version, attributesFromBlob(now.state!.attrs).get('n')], [2, '2'], "b's version, synced by the turn");
      assert.deepEqual(now.state, s, 'what get() answers');
      const loaded = new EngineHandle(a).loadNow(id);
      assert.deepEqual(loaded?.session?.data, { n: 2 }, "the adapters' read takes it too");
      mono.ms += a.global.leaseMs; // paused past the lease: nothing can be proven
      assert.equal(a.getNow(id), undefined, 'the lease cannot be proven: get() reads the record');
      assert.equal(new EngineHandle(a).loadNow(id), undefined);
    } finally {
      release();
    }
  });

  it('lock(): a turn across servers not got in time gives the local turn back (the lock taken at once, with lockNow, first)', async (t) => {
    if (redis === undefined) return t.skip('Redis not reachable');
    const a = await server('lock-a', { ms: 1_000 }, 200);
    const b = await server('lock-b', { ms: 1_000 });
    const id = fresh();
    await a.save(id, { attributes: { n: '1' } });
    const held = await b.lock(id);
    try {
      await assert.rejects(a.lock(id), (e: unknown) => isSessiondError(e, 'SESSIOND_QUEUE_TIMEOUT'));
      const local = a.local.lockNow(id);
      assert.ok(local !== undefined, "a's local turn was given back");
      local();
    } finally {
      held();
    }
    (await a.lock(id))();
  });

  it('a turn that found no record answers undefined at once', async (t) => {
    if (redis === undefined) return t.skip('Redis not reachable');
    const a = await server('now-absent', { ms: 1_000 });
    const id = fresh();
    const release = await a.lock(id);
    try {
      assert.deepEqual(a.getNow(id), { state: undefined });
    } finally {
      release();
    }
  });
});
