/**
 * A server cut off from standalone Redis (kind: integration, the machine's Redis behind a TCP
 * proxy the test cuts, own key prefix; docs/failover.md §Outage), as global-outage.test.ts
 * does for PostgreSQL. Through mode: nothing is acknowledged that Redis did not take: 503.
 * Back mode (G4): the server keeps serving the sessions it holds while its lease provably
 * lasts, acknowledging once locally durable; the others get 503; healed, the backlog drains,
 * fenced: written where nobody took the session, reported lost where another server did.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { isSessiondError } from '../../src/errors.js';
import { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import type { GlobalStore } from '../../src/global/global-store.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import { REDIS_URL, redisMissing, RedisTestPrefix } from './redis-harness.js';
import { TcpCutProxy } from './tcp-cut-proxy.js';
import { sleep, until } from './until.js';

const HOUR = 3_600_000;
const unavailable = (e: unknown): boolean => isSessiondError(e, 'SESSIOND_GLOBAL_UNAVAILABLE') && e.status === 503;
const redisPort = Number(new URL(REDIS_URL).port || 6379);

function open(r: RedisTestPrefix, port: number, serverId: string, mode: 'through' | 'back', leaseMs: number, queueWaitMsMax = 5000): Promise<GlobalSessionEngine> {
  return GlobalSessionEngine.open({
    dir: '/s',
    fs: new SimFileSystem(),
    flushIntervalMs: HOUR,
    queueWaitMsMax,
    global: {
      redis: { url: `redis://127.0.0.1:${port}` },
      keyPrefix: r.prefix,
      app: `outage-${mode}`,
      serverId,
      mode,
      leaseMs,
      heartbeatMs: Math.floor(leaseMs / 6),
      writeBackMs: 50,
      handoverPollMs: 100,
      inheritIntervalMs: HOUR,
    },
  });
}

describe('through mode while Redis is cut off', () => {
  let r: RedisTestPrefix | undefined;
  let proxy: TcpCutProxy;
  let cutOff: GlobalSessionEngine;
  let direct: GlobalSessionEngine;
  const ID = 'OutageRedisAAAAAAAAAAAAAA';
  before(async () => {
    if ((await redisMissing()) !== undefined) return;
    r = RedisTestPrefix.standalone();
    proxy = await TcpCutProxy.start(redisPort);
    cutOff = await open(r, proxy.port, 'behind-proxy', 'through', 1500);
    direct = await open(r, redisPort, 'direct', 'through', 1500);
  });
  after(async () => {
    proxy?.heal();
    await cutOff?.close().catch(() => undefined);
    await direct?.close().catch(() => undefined);
    await proxy?.close();
    await r?.drop();
  });
  const n = async (e: GlobalSessionEngine): Promise<string | undefined> => {
    const release = await e.lock(ID);
    try {
      const s = await e.get(ID);
      return s === undefined ? undefined : attributesFromBlob(s.attrs).get('n');
    } finally {
      release();
    }
  };

  it('refuses with SESSIOND_GLOBAL_UNAVAILABLE instead of acknowledging, and serves the global state once healed', async (t) => {
    if (r === undefined) return t.skip('Redis not reachable');
    await cutOff.save(ID, { attributes: { n: '1' } });
    proxy.cut();
    await assert.rejects(cutOff.save(ID, { attributes: { n: '2' } }), unavailable);
    await assert.rejects(cutOff.lock(ID), unavailable);
    assert.equal(await n(direct), '1', 'the unacknowledged change never reached Redis');
    await sleep(2000); // past the lease: the server must register again
    proxy.heal();
    await until('registered again', async () => {
      await cutOff.renewLease();
      return (await cutOff.stats()).global.exclusiveForMs > 0;
    });
    assert.equal(await n(cutOff), '1', 'the local copy is replaced by the global record');
    await cutOff.save(ID, { attributes: { n: '3' } });
    assert.equal(await n(direct), '3');
  });
});

describe('back mode while Redis is cut off (G4)', () => {
  let r: RedisTestPrefix | undefined;
  let proxy: TcpCutProxy;
  let a: GlobalSessionEngine; // behind the proxy
  let b: GlobalSessionEngine; // direct
  let view: GlobalStore;
  const S1 = 'OutageRedisHeldOneAAAAAAA';
  const S2 = 'OutageRedisHeldTwoAAAAAAA';
  const S3 = 'OutageRedisOtherAAAAAAAAA';
  before(async () => {
    if ((await redisMissing()) !== undefined) return;
    r = RedisTestPrefix.standalone();
    proxy = await TcpCutProxy.start(redisPort);
    a = await open(r, proxy.port, 'back-behind-proxy', 'back', 3000);
    b = await open(r, redisPort, 'back-direct', 'back', 3000, 600);
    view = await r.store({ app: 'outage-back' });
  });
  after(async () => {
    proxy?.heal();
    await a?.close().catch(() => undefined);
    await b?.close().catch(() => undefined);
    await proxy?.close();
    await r?.drop();
  });
  const n = (e: GlobalSessionEngine, id: string): number => {
    const s = e.local.get(id);
    return s === undefined ? -1 : Number(attributesFromBlob(s.attrs).get('n'));
  };
  const increment = async (e: GlobalSessionEngine, id: string, to?: number): Promise<void> => {
    const release = await e.lock(id);
    try {
      await e.save(id, { attributes: { n: String(to ?? n(e, id) + 1) } });
    } finally {
      release();
    }
  };
  const row = async (id: string): Promise<{ n: number; owner: string } | undefined> => {
    const x = await view.load(id);
    return x === undefined ? undefined : { n: Number(attributesFromBlob(x.attrs).get('n')), owner: x.owner };
  };
  const pending = async (): Promise<number> => (await a.stats()).global.writeBackPending;

  it('serves the sessions it holds through a cut within its lease, refuses the others with 503, and drains the backlog once healed', async (t) => {
    if (r === undefined) return t.skip('Redis not reachable');
    await increment(a, S1, 0);
    await increment(a, S2, 0);
    await increment(b, S3, 0);
    await until('created records written', async () => (await row(S1)) !== undefined && (await row(S2)) !== undefined);
    proxy.cut();
    for (let i = 0; i < 5; i++) {
      await increment(a, S1);
      await increment(a, S2);
    }
    assert.equal(n(a, S1), 5);
    assert.equal(await pending(), 2, 'two sessions wait for write-back');
    await assert.rejects(b.lock(S1), (e: unknown) => isSessiondError(e, 'SESSIOND_QUEUE_TIMEOUT'), 'nobody takes a session whose holder still has its lease');
    assert.deepEqual(await row(S1), { n: 0, owner: 'back-behind-proxy' });
    // Refused within offlineWaitMsMax (the offline gate; how promptly: global-outage-redis-prompt.test.ts).
    await assert.rejects(a.lock(S3), unavailable, 'a session another server holds: 503');
    proxy.heal();
    await until('the backlog drained', async () => (await pending()) === 0);
    assert.deepEqual(await row(S1), { n: 5, owner: 'back-behind-proxy' });
    assert.deepEqual(await row(S2), { n: 5, owner: 'back-behind-proxy' });
    assert.equal((await a.stats()).global.writeBackLost, 0);
    // A new session needs Redis: refused while cut off.
    proxy.cut();
    await assert.rejects(a.save('OutageRedisBrandNewAAAAAA', { attributes: { n: '1' } }), unavailable, 'a new session needs Redis');
    proxy.heal();
  });

  it('past its lease it stops serving before another server may inherit; healed, it writes back what nobody took and reports what another server did', async (t) => {
    if (r === undefined) return t.skip('Redis not reachable');
    for (const id of [S1, S2]) (await a.lock(id))();
    proxy.cut();
    await increment(a, S1); // 6, acknowledged while the lease provably lasts
    await increment(a, S2); // 6
    await until('the lease can no longer be vouched for', async () => (await a.stats()).global.exclusiveForMs === 0, 1000);
    await assert.rejects(a.lock(S2), unavailable, 'no longer served: another server may have it');
    await until('the lease key expired in Redis', async () => (await r!.keys('*:lease:back-behind-proxy')).length === 0, 1000);
    await increment(b, S1, 100); // b inherits S1 as Redis has it, and changes it
    await b.writeBack();
    assert.deepEqual(await row(S1), { n: 100, owner: 'back-direct' });
    proxy.heal();
    await until('the backlog drained after registering again', async () => (await pending()) === 0);
    assert.deepEqual(await row(S2), { n: 6, owner: 'back-behind-proxy' }, 'nobody took S2: its acknowledged change is written back');
    assert.deepEqual(await row(S1), { n: 100, owner: 'back-direct' }, 'S1 was inherited: the old change does not overwrite it');
    const st = (await a.stats()).global;
    assert.equal(st.writeBackLost, 1);
    assert.ok(st.leasesLost >= 1);
    const release = await a.lock(S1); // handed over by b: the current state
    try {
      assert.equal(n(a, S1), 100);
    } finally {
      release();
    }
  });
});
