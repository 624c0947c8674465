/** The global store contract on standalone Redis (kind: contract, the machine's Redis on 127.0.0.1:6379, own key prefix). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSessiondError } from '../../src/errors.js';
import { globalStoreContract } from './global-store-contract.js';
import { Redis } from 'ioredis';
import { REDIS_URL, redisMissing, redisTestPrefix, RedisTestPrefix, withRedisPrefix } from './redis-harness.js';

globalStoreContract('redis (standalone)', async () => (await redisTestPrefix())?.contractHarness());

test('a lease that lapses by Redis time alone fences the writer: no heartbeat, no outside help', async (t) => {
  await withRedisPrefix(t, async (r) => {
    const s = await r.store();
    await s.migrate();
    const me = await s.acquireLease('srv-short', 300);
    const id = 'ShortLeaseSessionxxxxxxxxxx';
    const now = Date.now();
    assert.equal(await s.create(me, id, { attrs: 'a', createdAtMs: now, lastAccessAtMs: now, expiresAtMs: now + 60_000, maxInactiveMs: 0 }), true);
    // Past the lease by Redis's clock: the lease key is gone by its PXAT.
    while ((await r.admin.call('EXISTS', (await r.keys('*:lease:srv-short'))[0] ?? 'none')) === 1) await new Promise((res) => setTimeout(res, 50));
    assert.equal(await s.write(me, id, 1, { attrs: 'late', createdAtMs: now, lastAccessAtMs: now, expiresAtMs: now + 60_000, maxInactiveMs: 0 }, false), 'fenced');
    await assert.rejects(s.takeTurn(me, id, 1000, 0), (e) => isSessiondError(e, 'SESSIOND_FENCED'));
    assert.equal(await s.renewLease(me, 300), false);
    assert.equal((await s.load(id))?.attrs, 'a');
  });
});

test('keys escape app names and IDs: "a" and "a:b" never share a session, globs in names match only themselves', async (t) => {
  await withRedisPrefix(t, async (r) => {
    const a = await r.store({ app: 'a' });
    const ab = await r.store({ app: 'a:b' });
    const star = await r.store({ app: '*' });
    for (const s of [a, ab, star]) await s.migrate();
    const w = { attrs: 'x', createdAtMs: 1, lastAccessAtMs: 1, expiresAtMs: Date.now() + 60_000, maxInactiveMs: 0 };
    const la = await a.acquireLease('srv', 10_000);
    const lab = await ab.acquireLease('srv', 10_000);
    assert.equal(await a.create(la, 'b:c}{', w), true);
    assert.equal(await ab.load('c}{'), undefined, 'app "a:b" does not see app "a"\'s session "b:c}{"');
    assert.equal(await ab.create(lab, 'c}{', { ...w, attrs: 'y' }), true);
    assert.equal((await a.load('b:c}{'))?.attrs, 'x');
    assert.deepEqual((await a.list(10)).map((x) => x.id), ['b:c}{']);
    assert.equal(await star.count(), 0, 'app "*" is not a glob over every app');
  });
});

test('an epoch is never handed out twice, even when a failover rolls the epoch counter back', async (t) => {
  await withRedisPrefix(t, async (r) => {
    const s = await r.store();
    await s.migrate();
    const first = await s.acquireLease('srv-epoch-loss', 10_000);
    // What a replica promoted before the last INCRs reached it holds: an older counter.
    const [epochKey] = await r.keys('*:epoch');
    await r.admin.call('SET', epochKey!, String(first.epoch - 1));
    await new Promise((res) => setTimeout(res, 5)); // a failover takes seconds; the clock has moved on
    const second = await s.acquireLease('srv-epoch-other', 10_000);
    assert.ok(second.epoch > first.epoch, `${second.epoch} > ${first.epoch}`);
  });
});

test('background inheritance scans only while a server is dead, and forgets a dead server once swept', async (t) => {
  if ((await redisMissing()) !== undefined) return t.skip('Redis not reachable');
  const r = RedisTestPrefix.standalone();
  const raw = new Redis(REDIS_URL);
  try {
    let scans = 0;
    const counted = {
      call: (c: string, ...a: Array<string | number | Buffer>) => {
        if (c === 'SCAN') scans++;
        return raw.call(c, ...a);
      },
      quit: async () => 'OK',
    };
    const s = await r.store({ redis: counted });
    await s.migrate();
    const dying = await s.acquireLease('srv-sweep-dead', 10_000);
    const heir = await s.acquireLease('srv-sweep-heir', 10_000);
    const w = { attrs: 'x', createdAtMs: 1, lastAccessAtMs: 1, expiresAtMs: Date.now() + 60_000, maxInactiveMs: 0 };
    for (const id of ['SweepAxxxxxxxxxxxxxxxxxx', 'SweepBxxxxxxxxxxxxxxxxxx']) await s.create(dying, id, w);
    assert.deepEqual(await s.inheritBatch(heir, 10), []);
    assert.equal(scans, 0, 'every server alive: no SCAN at all');
    await r.expireLease('srv-sweep-dead');
    assert.equal((await s.inheritBatch(heir, 10)).length, 2);
    assert.ok(scans > 0);
    const after = scans;
    assert.deepEqual(await s.inheritBatch(heir, 10), []);
    assert.equal(scans, after, 'the swept dead server is forgotten: no more SCAN');
  } finally {
    raw.disconnect();
    await r.drop();
  }
});

test('replicaAckMs with no replica to confirm: the change is refused with SESSIOND_GLOBAL_UNAVAILABLE, not acknowledged', async (t) => {
  await withRedisPrefix(t, async (r) => {
    const info = (await r.admin.call('INFO', 'replication')) as string;
    if (!/connected_slaves:0/.test(info)) return t.skip('the machine\'s Redis has replicas');
    const s = await r.store({ replicaAckMs: 50 });
    await s.migrate();
    const me = await s.acquireLease('srv-noack', 10_000);
    const w = { attrs: 'x', createdAtMs: 1, lastAccessAtMs: 1, expiresAtMs: Date.now() + 60_000, maxInactiveMs: 0 };
    await assert.rejects(s.create(me, 'NoAckSessionxxxxxxxxxxxxx', w), (e) => isSessiondError(e, 'SESSIOND_GLOBAL_UNAVAILABLE'));
  });
});

test('cleanup runs its script only on records past their end, not once per session per pass', async (t) => {
  if ((await redisMissing()) !== undefined) return t.skip('Redis not reachable');
  const r = RedisTestPrefix.standalone();
  const raw = new Redis(REDIS_URL, { enableAutoPipelining: true });
  try {
    // Scripts run: an EVALSHA refused with NOSCRIPT ran nothing (a Redis whose script cache is
    // still cold, as a fresh one in CI, then gets the EVAL that runs and loads it).
    let scripts = 0;
    const counted = {
      call: async (c: string, ...a: Array<string | number | Buffer>) => {
        const script = c === 'EVALSHA' || c === 'EVAL';
        try {
          const out = await raw.call(c, ...a);
          if (script) scripts++;
          return out;
        } catch (e) {
          if (script && !/^NOSCRIPT/.test(String((e as Error).message))) scripts++;
          throw e;
        }
      },
      quit: async () => 'OK',
    };
    const s = await r.store({ redis: counted, app: 'clean-pre' });
    await s.migrate();
    const me = await s.acquireLease('srv-clean-pre', 10_000);
    const w = { attrs: 'x', createdAtMs: 1, lastAccessAtMs: 1, expiresAtMs: Date.now() + 60_000, maxInactiveMs: 0 };
    const ids = ['CleanPreAxxxxxxxxxxxxxxxx', 'CleanPreBxxxxxxxxxxxxxxxx', 'CleanPreCxxxxxxxxxxxxxxxx', 'CleanPreDxxxxxxxxxxxxxxxx'];
    for (const id of ids) await s.create(me, id, w);
    // Two records past their end whose keys lost their expiry (as a failover can leave them): only cleanup removes them.
    for (const key of (await r.keys('*CleanPre[AB]*')).slice(0, 2)) {
      await r.admin.call('HSET', key, 'u', String(Date.now() - 1000));
      await r.admin.call('PERSIST', key);
    }
    scripts = 0;
    assert.equal(await s.cleanupExpired(100), 2);
    assert.equal(scripts, 3, 'one CLEAN per expired record and the election\'s unlock; none for the 2 live ones');
    assert.deepEqual((await s.list(10)).map((x) => x.id).sort(), ids.slice(2));
  } finally {
    raw.disconnect();
    await r.drop();
  }
});

test('two processes under one server ID: the newer epoch takes the turn, the older is fenced by its epoch though its deadline lasts', async (t) => {
  await withRedisPrefix(t, async (r) => {
    const [old, next] = [await r.store({ app: 'dup-epoch' }), await r.store({ app: 'dup-epoch' })];
    await old.migrate();
    const e1 = await old.acquireLease('srv-dup', 60_000);
    const id = 'DupEpochSessionxxxxxxxxxxx';
    const w = { attrs: 'x', createdAtMs: 1, lastAccessAtMs: 1, expiresAtMs: Date.now() + 60_000, maxInactiveMs: 0 };
    assert.equal(await old.create(e1, id, w), true);
    assert.ok((await old.takeTurn(e1, id, 60_000, 1)) !== undefined, 'the first process holds the turn');
    const e2 = await next.acquireLease('srv-dup', 60_000); // a restart while the old process still runs
    assert.ok((await next.takeTurn(e2, id, 60_000, 0))?.record !== undefined, 'its older epoch is superseded: the turn is taken');
    assert.equal(await old.takeTurn(e1, id, 60_000, 1), undefined, 'the older epoch does not take the turn back');
    assert.equal(await old.write(e1, id, 1, { ...w, attrs: 'late' }, true), 'fenced', 'nor write, within its own deadline');
    assert.equal(await old.touch(e1, id, 2, undefined, true), 'fenced');
    assert.equal((await next.load(id))?.attrs, 'x');
    assert.equal(await next.write(e2, id, 1, { ...w, attrs: 'new' }, true), 'ok');
  });
});
