/**
 * Batched turns on PostgreSQL (kind: contract, real PostgreSQL): the turns a server's
 * concurrent requests ask for share one statement (src/global/postgres/turns.ts), and
 * every row of it is fenced exactly as a statement of its own (docs/failover.md
 * §Protocol, "Batched turns").
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { isSessiondError } from '../../src/errors.js';
import type { GlobalWrite, ServerLease, TurnResult } from '../../src/global/global-store.js';
import { Prng } from '../../src/util/prng.js';
import { pgMissing, PgTestSchema } from './pg-harness.js';

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
const settle = <T>(ps: Promise<T>[]): Promise<PromiseSettledResult<T>[]> => Promise.allSettled(ps);

it('batched turns: each row is fenced by its own server epoch; a stale epoch is refused in a batch as alone, and changes nothing', async (t) => {
  if ((await pgMissing()) !== undefined) return t.skip('PostgreSQL not reachable');
  const db = new PgTestSchema();
  try {
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
  } finally {
    await db.drop();
  }
});

it('batched turns: a write-back batch and another server\'s batched turns over the same rows in opposite orders never deadlock', async (t) => {
  if ((await pgMissing()) !== undefined) return t.skip('PostgreSQL not reachable');
  const db = new PgTestSchema();
  try {
    const a = await db.store();
    await a.migrate();
    const b = await db.store();
    const la = await a.acquireLease('srv-wb-a', 600_000);
    const lb = await b.acquireLease('srv-wb-b', 600_000);
    const sids = ids('WbRow', 48, new Prng(0x3b));
    sids.sort();
    for (const id of sids) assert.equal(await a.create(la, id, w('v1'), true), true);
    for (let round = 0; round < 10; round++) {
      const items = [...sids].reverse().map((id) => ({ id, expectedVersion: round + 1, w: w(`v${round + 2}`) }));
      const [written, turns] = await Promise.all([a.writeBatch(la, items), Promise.all(sids.map((id) => b.takeTurn(lb, id, 10_000, 0, true)))]);
      assert.deepEqual(written, items.map(() => 'ok'), `round ${round}: every write-back landed`);
      assert.deepEqual(turns, sids.map(() => undefined), `round ${round}: a holds every turn`);
    }
  } finally {
    await db.drop();
  }
});
