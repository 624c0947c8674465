/**
 * Batched turns on PostgreSQL (kind: contract, real PostgreSQL): the turns a server's
 * concurrent requests ask for share one statement (src/global/postgres/turns.ts), and
 * every row of it is fenced exactly as a statement of its own (docs/failover.md
 * §Protocol, "Batched turns").
 */
import { it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { isSessiondError } from '../../src/errors.js';
import type { GlobalWrite, ServerLease, TurnResult } from '../../src/global/global-store.js';
import { Prng } from '../../src/util/prng.js';
import type { PostgresGlobalStore } from '../../src/global/postgres/postgres-global-store.js';
import { pgMissing, PG_URL, PgTestSchema } from './pg-harness.js';

const HOUR = 3_600_000;
const w = (attrs: string): GlobalWrite => ({ attrs, createdAtMs: Date.now(), lastAccessAtMs: Date.now(), expiresAtMs: Date.now() + HOUR, maxInactiveMs: 0 });
/** Session IDs in random order (so the asks' order is not the rows' lock order). */
const ids = (tag: string, n: number, prng: Prng): string[] => {
  const out = Array.from({ length: n }, (_, i) => `${tag}${String(i).padStart(3, '0')}xxxxxxxxxxxxxxxx`);
  for (let i = out.length - 1; i > 0; i--) {
    const j = prng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
};
/**
 * Rows of the same app (expired long ago), analyzed, so that the planner looks the asked rows up one by one by
 * index, in the asks' order, as on a real table (on a small one it merge-joins them, which
 * sorts them anyway): only then does the lock order depend on the statement's ORDER BY.
 */
async function fill(db: PgTestSchema, rows: number): Promise<void> {
  await db.admin.query(
    `INSERT INTO "${db.schema}".sessions (app, sid, attrs, created_ms, access_ms, expires_ms, inactive_ms, until_ms, owner, owner_epoch, version)
     SELECT 'app', 'filler' || g, ''::bytea, 0, 0, 0, 0, 1, 'nobody', 1, 1 FROM generate_series(1, $1::int) g`,
    [rows],
  );
  await db.admin.query(`ANALYZE "${db.schema}".sessions`);
}
/** A schema of its own for one test, dropped after (skipped without PostgreSQL). */
async function withDb(t: TestContext, fn: (db: PgTestSchema) => Promise<void>): Promise<void> {
  if ((await pgMissing()) !== undefined) return t.skip('PostgreSQL not reachable');
  const db = new PgTestSchema();
  try {
    await fn(db);
  } finally {
    await db.drop();
  }
}

const settle = <T>(ps: Promise<T>[]): Promise<PromiseSettledResult<T>[]> => Promise.allSettled(ps);

it('batched turns: each row is fenced by its own server epoch; a stale epoch is refused in a batch as alone, and changes nothing', (t) =>
  withDb(t, async (db) => {
    const s = await db.store();
    await s.migrate();
    const owner = await s.acquireLease('srv-batch-owner', 600_000);
    const old = await s.acquireLease('srv-batch-x', 600_000);
    const now = await s.acquireLease('srv-batch-x', 600_000); // registered again: `old` is a paused self
    const prng = new Prng(0xba7c);
    const sids = ids('EpochRow', 24, prng);
    for (const id of sids) assert.equal(await s.create(owner, id, w(`v-${id}`)), true);
    const before = s.batchStats.turns.statements;
    // Mixed: the odd asks carry the stale epoch.
    const lease = (i: number): ServerLease => (i % 2 === 1 ? old : now);
    const mixed = await settle(sids.map((id, i) => s.takeTurn(lease(i), id, 60_000, i % 3 === 0 ? 1 : 0)));
    assert.ok(s.batchStats.turns.statements - before < sids.length, `the asks shared statements (${s.batchStats.turns.statements - before} for ${sids.length})`);
    for (const [i, r] of mixed.entries()) {
      const id = sids[i]!;
      if (i % 2 === 1) {
        assert.equal(r.status, 'rejected', `${id}: stale epoch refused`);
        assert.ok(isSessiondError((r as PromiseRejectedResult).reason, 'SESSIOND_FENCED'), `${id}: SESSIOND_FENCED`);
        continue;
      }
      assert.equal(r.status, 'fulfilled', `${id}: taken`);
      const got = (r as PromiseFulfilledResult<TurnResult | undefined>).value;
      assert.equal(got?.record?.id, id, `${id}: its own row`);
      assert.equal(got?.record?.ownerEpoch, now.epoch);
      assert.equal(got?.attrsOmitted, i % 3 === 0, `${id}: attrs left out only for its known version`);
      if (i % 3 !== 0) assert.equal(got?.record?.attrs, `v-${id}`);
    }
    for (const [i, id] of sids.entries()) {
      const r = await s.load(id);
      assert.equal(r?.owner, i % 2 === 1 ? 'srv-batch-owner' : 'srv-batch-x', `${id}: owner`);
      assert.equal(r?.ownerEpoch, i % 2 === 1 ? owner.epoch : now.epoch);
    }
    // Only stale asks: whatever row of the batch each one is, every one is refused.
    const free = sids.filter((_, i) => i % 2 === 1);
    const stale = await settle(free.map((id) => s.takeTurn(old, id, 60_000, 1)));
    for (const [i, r] of stale.entries()) assert.ok(r.status === 'rejected' && isSessiondError(r.reason, 'SESSIOND_FENCED'), `${free[i]}: stale epoch refused`);
    for (const id of free) assert.equal((await s.load(id))?.ownerEpoch, owner.epoch, `${id}: unchanged`);
  }));

it('batched turns: a turn the server\'s older epoch still holds is not this epoch\'s (busy until adopted), in a batch as alone', (t) =>
  withDb(t, async (db) => {
    const s = await db.store();
    await s.migrate();
    const old = await s.acquireLease('srv-older', 600_000);
    const sids = ids('OlderRow', 16, new Prng(0x01d));
    for (const id of sids) assert.equal(await s.create(old, id, w('o')), true);
    for (const id of sids) assert.ok((await s.takeTurn(old, id, 600_000, 1))?.record !== undefined);
    const now = await s.acquireLease('srv-older', 600_000); // registered again, not adopted yet
    const before = s.batchStats.turns.statements;
    assert.deepEqual(await Promise.all(sids.map((id) => s.takeTurn(now, id, 10_000, 1))), sids.map(() => undefined), 'busy: the older epoch holds every turn');
    assert.ok(s.batchStats.turns.statements - before < sids.length, 'the asks shared statements');
    for (const id of sids) assert.equal((await s.load(id))?.ownerEpoch, old.epoch, `${id}: still the older epoch's`);
    assert.equal(await s.adopt(now), sids.length);
    const taken = await Promise.all(sids.map((id) => s.takeTurn(now, id, 10_000, 1)));
    for (const [i, r] of taken.entries()) assert.equal(r?.record?.ownerEpoch, now.epoch, `${sids[i]}: adopted, then taken`);
  }));

it('batched touches: each row is fenced by its own server epoch and gets its own outcome (ok, fenced, absent)', (t) =>
  withDb(t, async (db) => {
    const s = await db.store();
    await s.migrate();
    const old = await s.acquireLease('srv-touch-x', 600_000);
    const other = await s.acquireLease('srv-touch-other', 600_000);
    const sids = ids('TouchRow', 24, new Prng(0x70c4));
    for (const [i, id] of sids.entries()) assert.equal(await s.create(i % 4 === 3 ? other : old, id, w('t')), true);
    const now = await s.acquireLease('srv-touch-x', 600_000); // registered again: `old` is a paused self
    assert.equal(await s.adopt(now), 18);
    const gone = sids.filter((_, i) => i % 4 === 2);
    for (const id of gone) assert.equal(await s.destroy(now, id, 1), 'ok');
    const at = Date.now() + HOUR;
    // i % 4: 0 this epoch (ok), 1 the stale epoch (fenced), 2 destroyed (absent), 3 another server's (fenced).
    const lease = (i: number): ServerLease => (i % 4 === 1 ? old : now);
    const before = s.batchStats.touches.statements;
    const got = await Promise.all(sids.map((id, i) => s.touch(lease(i), id, at + i, at + HOUR + i, true)));
    assert.ok(s.batchStats.touches.statements - before < sids.length, 'the touches shared statements');
    assert.deepEqual(got, sids.map((_, i) => (['ok', 'fenced', 'absent', 'fenced'] as const)[i % 4]));
    for (const [i, id] of sids.entries()) {
      if (i % 4 === 2) continue;
      const r = await s.load(id);
      assert.equal(r?.expiresAtMs === at + HOUR + i, i % 4 === 0, `${id}: moved only by its owner at its epoch`);
    }
    // Only stale touches: whatever row of the batch each one is, none moves anything.
    const mine = sids.filter((_, i) => i % 4 === 0);
    assert.deepEqual(await Promise.all(mine.map((id) => s.touch(old, id, at + 2 * HOUR, at + 3 * HOUR, true))), mine.map(() => 'fenced'));
    for (const id of mine) assert.ok((await s.load(id))!.expiresAtMs < at + 3 * HOUR, `${id}: unchanged by the stale epoch`);
  }));

interface TwoServers {
  readonly a: PostgresGlobalStore;
  readonly b: PostgresGlobalStore;
  readonly la: ServerLease;
  readonly lb: ServerLease;
  /** 200 sessions created by `a`, in sid order. */
  readonly sids: string[];
}

/**
 * Two servers, 200 sessions of the first (their turns held by it when `hold`) on a large
 * table. `heapOrder`: created in random order and read without index scans (a bitmap scan
 * returns the rows in the table's order, not in sid order), so only the statements' ORDER BY
 * orders their locks.
 */
function twoServers(t: TestContext, tag: string, hold: boolean, fn: (x: TwoServers) => Promise<void>, heapOrder = false): Promise<void> {
  return withDb(t, async (db) => {
    const postgres = { connectionString: heapOrder ? `${PG_URL}?options=${encodeURIComponent('-c enable_indexscan=off')}` : PG_URL };
    const a = await db.store({ postgres });
    await a.migrate();
    const b = await db.store({ postgres });
    const la = await a.acquireLease(`srv-${tag}-a`, 600_000);
    const lb = await b.acquireLease(`srv-${tag}-b`, 600_000);
    const created = ids(tag, 200, new Prng(0x3b));
    const sids = [...created].sort();
    for (const id of heapOrder ? created : sids) assert.equal(await a.create(la, id, w('v1'), hold), true);
    await fill(db, 50_000);
    await fn({ a, b, la, lb, sids });
  });
}

/** A write-back batch, batched touches and another server's batched turns over the same rows in opposite orders, 10 rounds. */
const writeBackTouchesAndTurns = async ({ a, b, la, lb, sids }: TwoServers): Promise<void> => {
  for (let round = 0; round < 10; round++) {
    const items = [...sids].reverse().map((id) => ({ id, expectedVersion: round + 1, w: w(`v${round + 2}`) }));
    const [written, touched, turns] = await Promise.all([
      a.writeBatch(la, items),
      Promise.all(items.map((x) => a.touch(la, x.id, Date.now(), undefined, false))),
      Promise.all(sids.map((id) => b.takeTurn(lb, id, 10_000, 0, true))),
    ]);
    assert.deepEqual(written, items.map(() => 'ok'), `round ${round}: every write-back landed`);
    assert.deepEqual(touched, items.map(() => 'ok'), `round ${round}: every touch landed`);
    assert.deepEqual(turns, sids.map(() => undefined), `round ${round}: a holds every turn`);
  }
};

it('batched turns: a write-back batch, batched touches and another server\'s batched turns over the same rows in opposite orders never deadlock', (t) =>
  twoServers(t, 'WbRow', true, writeBackTouchesAndTurns));

it('batched turns: the same when the rows are read in the table\'s order (a bitmap scan, not the sid index\'s order): every statement orders its locks itself', (t) =>
  twoServers(t, 'HeapRow', true, writeBackTouchesAndTurns, true));

it('batched turns: two servers taking the same sessions at once, in opposite orders, 200 at a time on a large table, never deadlock; each turn goes to exactly one', (t) =>
  twoServers(t, 'OrderRow', false, async ({ a, b, la, lb, sids }) => {
    for (let round = 0; round < 10; round++) {
      const [ra, rb] = await Promise.all([Promise.all(sids.map((id) => a.takeTurn(la, id, 10_000, 1))), Promise.all([...sids].reverse().map((id) => b.takeTurn(lb, id, 10_000, 1)))]);
      rb.reverse();
      sids.forEach((id, i) => assert.equal((ra[i]?.record !== undefined ? 1 : 0) + (rb[i]?.record !== undefined ? 1 : 0), 1, `round ${round}, ${id}: one taker`));
      await Promise.all(sids.flatMap((id) => [a.releaseTurn(la, id), b.releaseTurn(lb, id)]));
    }
  }));
