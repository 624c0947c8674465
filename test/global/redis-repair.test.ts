/**
 * Repair after a Redis failover lost acknowledged writes (kind: integration, the machine's
 * Redis, own key prefix). The loss is made deterministic: the session's hash is rolled back
 * to an older version with direct commands, as a replica promoted before the last writes
 * reached it would have it; the owner's next access must put its acknowledged state back.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import type { GlobalStore } from '../../src/global/global-store.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import { REDIS_URL, redisTestPrefix, type RedisTestPrefix } from './redis-harness.js';
import { isSessiondError } from '../../src/errors.js';
import { EngineFleet, inTurn } from './engine-fleet.js';
import { failingDestroy } from './failing-destroy.js';

describe('GlobalSessionEngine on Redis: a change Redis lost or never got is sent again', () => {
  let r: RedisTestPrefix | undefined;
  const fleet = new EngineFleet();
  before(async () => void (r = await redisTestPrefix()));
  after(() => fleet.close(r));

  const server = async (name: string, store?: GlobalStore): Promise<GlobalSessionEngine> =>
    fleet.compose(name, { redis: { url: REDIS_URL }, keyPrefix: r!.prefix, app: 'shop' }, store ?? (await r!.store({ app: 'shop' })));

  const n = (attrs: string): string | undefined => attributesFromBlob(attrs).get('n');

  it('rolls the hash back one version; the next access on the owner restores the acknowledged state', async (t) => {
    if (r === undefined) return t.skip('Redis not reachable');
    const a = await server('web-a');
    const id = 'RepairSessionAAAAAAAAAAAAA';
    await a.save(id, { attributes: { n: '1' } });
    const [key] = await r.keys(`*shop:${id}}`);
    const v1 = (await r.admin.call('HGETALL', key!)) as string[];
    await a.save(id, { attributes: { n: '2' } });
    // The failover: the promoted replica has only version 1.
    await r.admin.call('HSET', key!, ...v1);
    const lost = await (await r.store({ app: 'shop' })).load(id);
    assert.equal(lost?.version, 1);
    assert.equal(n(lost!.attrs), '1');
    const release = await a.lock(id);
    release();
    const back = await (await r.store({ app: 'shop' })).load(id);
    assert.equal(n(back!.attrs), '2', 'the acknowledged n=2 is in Redis again');
    // Another server now sees the acknowledged state, and the owner goes on from it.
    const b = await server('web-b');
    assert.equal(n((await b.get(id))!.attrs), '2');
    await b.save(id, { attributes: { n: '3' } });
    assert.equal(n((await a.get(id))!.attrs), '3');
  });

  it('a logout whose global delete failed (503) reaches the record when retried on the same server', async (t) => {
    if (r === undefined) return t.skip('Redis not reachable');
    const store = await r.store({ app: 'shop' });
    // The backend answers the first destroy with an outage, as a killed or paused master does.
    const flaky = failingDestroy(store);
    const a = await server('web-d', flaky.store);
    const id = 'RepairSessionCCCCCCCCCCCCC';
    await a.save(id, { attributes: { user: 'u1' } });
    flaky.failNextDestroy();
    await assert.rejects(a.destroy(id), (e) => isSessiondError(e, 'SESSIOND_GLOBAL_UNAVAILABLE'));
    assert.notEqual(await store.load(id), undefined, 'the failed logout left the record');
    assert.equal(await a.destroy(id), true, 'the retried logout is acknowledged');
    assert.equal(await store.load(id), undefined, '... and the record is gone: no other server can bring it back');
  });

  it('a logout in a request whose server lost its lease meanwhile still deletes the record', async (t) => {
    if (r === undefined) return t.skip('Redis not reachable');
    const a = await server('web-e');
    const store = await r.store({ app: 'shop' });
    const id = 'RepairSessionDDDDDDDDDDDDD';
    await a.save(id, { attributes: { user: 'u1' } });
    await inTurn(a, id, async () => {
      // Mid-request the lease is lost (a master holding it was down past leaseMs): the server
      // forgets what it knew of every session and registers with a new epoch.
      await r!.expireLease('web-e');
      await a.renewLease();
      assert.equal(await a.destroy(id), true);
    });
    assert.equal(await store.load(id), undefined, 'the acknowledged logout deleted the record');
  });

  it('a save in a request whose server lost its lease meanwhile never re-creates a session another server destroyed', async (t) => {
    if (r === undefined) return t.skip('Redis not reachable');
    const a = await server('web-f');
    const b = await server('web-g');
    const store = await r.store({ app: 'shop' });
    const id = 'RepairSessionEEEEEEEEEEEEE';
    await a.save(id, { attributes: { user: 'u1', n: '1' } });
    await inTurn(a, id, async () => {
      // A's request stalls past its lease (a master down); B serves the logout meanwhile.
      await r!.expireLease('web-f');
      assert.equal(await b.destroy(id), true);
      await a.renewLease();
      // The stalled request's save must not bring the session back.
      await a.save(id, { attributes: { user: 'u1', n: '2' } }).catch(() => undefined);
    });
    assert.equal(await store.load(id), undefined, 'the logout stays a logout');
  });

  it('a save in a request whose server lost its lease meanwhile never overwrites what another server changed (the woken zombie)', async (t) => {
    if (r === undefined) return t.skip('Redis not reachable');
    const a = await server('web-h');
    const b = await server('web-i');
    const store = await r.store({ app: 'shop' });
    const id = 'RepairSessionFFFFFFFFFFFFF';
    await a.save(id, { attributes: { n: '1' } });
    await inTurn(a, id, async () => {
      // A's request read n=1, then A was paused past its lease; B took the session and changed it.
      await r!.expireLease('web-h');
      await b.save(id, { attributes: { n: '2' } });
      // A wakes: its heartbeat registers again (a new epoch) before the request goes on.
      await a.renewLease();
      await assert.rejects(a.save(id, { attributes: { n: '1+1' } }), (e) => isSessiondError(e, 'SESSIOND_FENCED'), 'the stale save is refused');
    });
    assert.equal(n((await store.load(id))!.attrs), '2', "B's change stands");
    assert.equal(n((await a.get(id))!.attrs), '2', 'and A serves it');
    // A later request on A (not stalled) writes as usual.
    await a.save(id, { attributes: { n: '3' } });
    assert.equal(n((await b.get(id))!.attrs), '3');
  });
});
