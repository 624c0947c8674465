/**
 * Repair of a record Redis lost entirely (kind: integration, the machine's Redis, own key
 * prefix): a Cluster failover to a replica the record had not reached (CI found it in
 * redis-master-kill-repair: every save refused 410 for 90 s). The loss is made
 * deterministic by deleting the session's key with a direct command. A record gone
 * without a tombstone that the owner saw less than tombstoneMs ago was lost, not
 * destroyed: its acknowledged state is put back at the acknowledged version. A record
 * destroyed (or cleared) leaves a tombstone, and stays gone.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import { isSessiondError } from '../../src/errors.js';
import { REDIS_URL, redisTestPrefix, type RedisTestPrefix } from './redis-harness.js';
import { EngineFleet, inTurn, type FleetGlobal } from './engine-fleet.js';

describe('GlobalSessionEngine on Redis: a record Redis lost entirely is put back; a destroyed one is not', () => {
  let r: RedisTestPrefix | undefined;
  const fleet = new EngineFleet();
  before(async () => void (r = await redisTestPrefix()));
  after(() => fleet.close(r));

  async function server(name: string, over: Partial<FleetGlobal> = {}): Promise<GlobalSessionEngine> {
    const g = { redis: { url: REDIS_URL }, keyPrefix: r!.prefix, app: 'lost', ...over };
    return fleet.compose(name, g, await r!.store({ app: 'lost', ...(over.tombstoneMs === undefined ? {} : { tombstoneMs: over.tombstoneMs }) }));
  }

  const n = (attrs: string | undefined): string | undefined => (attrs === undefined ? undefined : attributesFromBlob(attrs).get('n'));
  async function record(id: string) {
    return (await r!.store({ app: 'lost' })).load(id);
  }
  async function lose(id: string): Promise<void> {
    const keys = await r!.keys(`*lost:${id}}`);
    assert.equal(keys.length, 1);
    await r!.admin.call('DEL', keys[0]!);
  }
  const touchTurn = (e: GlobalSessionEngine, id: string): Promise<void> => inTurn(e, id, () => Promise.resolve());

  it('the owner puts a lost record back at its version, then goes on from it; its saves are never refused', async (t) => {
    if (r === undefined) return t.skip('Redis not reachable');
    const a = await server('web-a');
    const id = 'LostRecordAAAAAAAAAAAAAAAA';
    await a.save(id, { attributes: { n: '1' } });
    await a.save(id, { attributes: { n: '2' } });
    await lose(id);
    assert.equal(await record(id), undefined);
    const saved = await a.save(id, { attributes: { n: '3' } });
    assert.equal(saved.version, 3, 'restored at version 2, then written');
    const rec = await record(id);
    assert.equal(n(rec?.attrs), '3');
    assert.equal(rec?.version, 3);
    // The turn the restore held was given back: another server takes it and sees the state.
    const b = await server('web-b');
    assert.equal(n((await b.get(id))?.attrs), '3');
    await b.save(id, { attributes: { n: '4' } });
    assert.equal(n((await a.get(id))?.attrs), '4');
  });

  it('a record lost between the turn and the write is put back with that write', async (t) => {
    if (r === undefined) return t.skip('Redis not reachable');
    const a = await server('web-c');
    const b = await server('web-c2');
    const id = 'LostRecordBBBBBBBBBBBBBBBB';
    await a.save(id, { attributes: { n: '1' } });
    await inTurn(a, id, async () => {
      await lose(id);
      await a.save(id, { attributes: { n: '2' } });
    });
    assert.deepEqual([n((await record(id))?.attrs), (await record(id))?.version], ['2', 2]);
    // The restored turn was released with the request.
    await b.save(id, { attributes: { n: '3' } });
    assert.equal(n((await record(id))?.attrs), '3');
  });

  it('a record lost before a touch is put back by the touch', async (t) => {
    if (r === undefined) return t.skip('Redis not reachable');
    const a = await server('web-t');
    const id = 'LostRecordTTTTTTTTTTTTTTTT';
    await a.save(id, { attributes: { n: '1' } });
    await inTurn(a, id, async () => {
      await lose(id);
      assert.equal(n((await a.touch(id, {}))?.attrs), '1');
    });
    assert.deepEqual([n((await record(id))?.attrs), (await record(id))?.version], ['1', 1]);
  });

  it('a version restored as acknowledged: a server with an older copy sees the record as newer, never reverts it', async (t) => {
    if (r === undefined) return t.skip('Redis not reachable');
    const a = await server('web-d');
    const b = await server('web-e');
    const id = 'LostRecordCCCCCCCCCCCCCCCC';
    await a.save(id, { attributes: { n: '1' } });
    const [key] = await r.keys(`*lost:${id}}`);
    const v1 = (await r.admin.call('HGETALL', key!)) as string[];
    await b.save(id, { attributes: { n: '2' } }); // b knows version 2
    await a.save(id, { attributes: { n: '3' } }); // a knows version 3
    // The failover: the promoted replica has only version 1.
    await r.admin.call('DEL', key!);
    await r.admin.call('HSET', key!, ...v1);
    await touchTurn(a, id); // a puts back n=3
    assert.equal((await record(id))?.version, 3, 'at the version a acknowledged, not 2');
    await inTurn(b, id, async () => {
      assert.equal(n((await b.get(id))?.attrs), '3', "b's copy at version 2 is older: it takes the record's");
    });
    assert.equal(n((await record(id))?.attrs), '3');
  });

  it("a server's copy of another server's version, held in memory, is what it puts back", async (t) => {
    if (r === undefined) return t.skip('Redis not reachable');
    const a = await server('web-m');
    const b = await server('web-m2');
    for (const [id, loss] of [
      ['LostRecordMMMMMMMMMMMMMMMM', 'whole'],
      ['LostRecordNNNNNNNNNNNNNNNN', 'rolled back'],
    ] as const) {
      await a.save(id, { attributes: { n: '1' } });
      const [key] = await r.keys(`*lost:${id}}`);
      const v1 = (await r.admin.call('HGETALL', key!)) as string[];
      await touchTurn(b, id);
      await a.save(id, { attributes: { n: '2' } });
      await touchTurn(b, id); // b copies version 2 (in memory: its local engine never saved it)
      assert.equal(b.local.get(id), undefined);
      await r.admin.call('DEL', key!);
      if (loss === 'rolled back') await r.admin.call('HSET', key!, ...v1);
      await touchTurn(b, id);
      const rec = await record(id);
      assert.deepEqual([n(rec?.attrs), rec?.version], ['2', 2], `${loss}: b put back the version it read`);
    }
  });

  it('a record destroyed on another server is not put back: its tombstone refuses it, and the owner refuses the save', async (t) => {
    if (r === undefined) return t.skip('Redis not reachable');
    const a = await server('web-f');
    const b = await server('web-g');
    const id = 'LostRecordDDDDDDDDDDDDDDDD';
    await a.save(id, { attributes: { n: '1' } });
    assert.equal(await b.destroy(id), true);
    await assert.rejects(a.save(id, { attributes: { n: '2' } }), (e) => isSessiondError(e, 'SESSIOND_SESSION_DESTROYED'));
    assert.equal(await record(id), undefined);
    assert.equal(await a.get(id), undefined);
  });

  it('a destroy lost with its tombstone: the owner puts the tombstone back, and a server with an older copy does not bring the session back', async (t) => {
    if (r === undefined) return t.skip('Redis not reachable');
    const a = await server('web-l');
    const b = await server('web-m');
    const id = 'LostRecordJJJJJJJJJJJJJJJJ';
    await a.save(id, { attributes: { n: '1' } });
    await b.save(id, { attributes: { n: '2' } }); // b's copy at version 2, seen now
    assert.equal(await a.destroy(id), true);
    await lose(id); // the failover lost the tombstone (and so the destroy)
    await touchTurn(a, id); // the owner's turn: its local tombstone says destroyed
    assert.equal((await r.keys(`*lost:${id}}`)).length, 1, 'the tombstone is back');
    await touchTurn(b, id);
    assert.equal(await record(id), undefined);
    assert.equal(await b.get(id), undefined);
    await assert.rejects(b.save(id, { attributes: { n: 'late' } }), (e) => isSessiondError(e, 'SESSIOND_SESSION_DESTROYED'));
  });

  it('a store cleared on another server is not put back either', async (t) => {
    if (r === undefined) return t.skip('Redis not reachable');
    const a = await server('web-h');
    const b = await server('web-i');
    const id = 'LostRecordEEEEEEEEEEEEEEEE';
    await a.save(id, { attributes: { n: '1' } });
    await b.clear();
    await touchTurn(a, id);
    assert.equal(await record(id), undefined);
    assert.equal(await a.get(id), undefined);
  });

  it('a record last seen longer ago than a tombstone lasts is taken as destroyed (its tombstone may be gone)', async (t) => {
    if (r === undefined) return t.skip('Redis not reachable');
    // Margin 200 ms (leaseMs / 20): a record seen more than 1,800 ms ago is past the window.
    const a = await server('web-j', { leaseMs: 4000, tombstoneMs: 2000 });
    const [id, seen] = ['LostRecordFFFFFFFFFFFFFFFF', 'LostRecordIIIIIIIIIIIIIIII'];
    await a.save(id, { attributes: { n: '1' } });
    await a.save(seen, { attributes: { n: '1' } });
    await new Promise((res) => setTimeout(res, 2000));
    await touchTurn(a, seen); // a turn that finds the version it knows counts as seeing the record
    await lose(id);
    await lose(seen);
    await touchTurn(a, id);
    await touchTurn(a, seen);
    assert.equal(await record(id), undefined);
    assert.equal(await a.get(id), undefined);
    assert.equal(n((await record(seen))?.attrs), '1', 'the one seen again within the window is put back');
  });

  it('a copy that ends within the clock margin is not put back (the record may just have expired)', async (t) => {
    if (r === undefined) return t.skip('Redis not reachable');
    const a = await server('web-k', { leaseMs: 20_000 }); // margin 1,000 ms
    const id = 'LostRecordGGGGGGGGGGGGGGGG';
    await a.save(id, { attributes: { n: '1' }, expiresAtMs: Date.now() + 500 });
    await lose(id);
    await touchTurn(a, id);
    assert.equal(await record(id), undefined);
    const far = 'LostRecordHHHHHHHHHHHHHHHH';
    await a.save(far, { attributes: { n: '1' }, expiresAtMs: Date.now() + 5000 });
    await lose(far);
    await touchTurn(a, far);
    assert.equal(n((await record(far))?.attrs), '1', 'one ending past the margin is');
  });
});
