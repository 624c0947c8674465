/**
 * Back mode's write-back batch locks its rows in `sid` order whatever order the table holds
 * them in (kind: integration with a real PostgreSQL), as batched turns and touches do, so
 * that two servers' batches cannot deadlock (docs/failover.md §Protocol, "Batched
 * statements"). Deterministic, with no race to win: another transaction holds the middle
 * row, the batch waits for it, and then the last row in sid order (the first in the table)
 * must still be free while the first one is the batch's.
 */
import { it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { GlobalWrite } from '../../src/global/global-store.js';
import { pgMissing, PG_URL, PgTestSchema } from './pg-harness.js';

const HOUR = 3_600_000;
const w = (attrs: string): GlobalWrite => ({ attrs, createdAtMs: Date.now(), lastAccessAtMs: Date.now(), expiresAtMs: 0, maxInactiveMs: HOUR });

it('a write-back batch waiting for a row has locked only the rows before it in sid order, not the rows the table holds first', async (t: TestContext) => {
  if ((await pgMissing()) !== undefined) return t.skip('PostgreSQL not reachable');
  const db = new PgTestSchema();
  const other = await db.admin.connect();
  try {
    // No index scans: the rows come in the table's order (created last sid first), so only the statement's ORDER BY orders its locks.
    const s = await db.store({ postgres: { connectionString: `${PG_URL}?options=${encodeURIComponent('-c enable_indexscan=off')}` }, rowAllocation: 'insert' });
    await s.migrate();
    const lease = await s.acquireLease('srv-lock-order', 600_000);
    const [first, middle, last] = ['LockOrder1xxxxxxxxxxxxxxxxxxxxx', 'LockOrder2xxxxxxxxxxxxxxxxxxxxx', 'LockOrder3xxxxxxxxxxxxxxxxxxxxx'];
    for (const id of [last!, middle!, first!]) assert.equal(await s.create(lease, id, w('v1'), true), true);
    const rows = `"${db.schema}".sessions`;
    await other.query('BEGIN');
    await other.query(`SELECT 1 FROM ${rows} WHERE app = 'app' AND sid = $1 FOR UPDATE`, [middle]);
    const written = s.writeBatch(lease, [first!, middle!, last!].map((id) => ({ id, expectedVersion: 1, w: w('v2') })));
    // The batch's backend waits for the middle row's lock.
    for (let i = 0; ; i++) {
      const r = await db.admin.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [db.applicationName]);
      if (r.rows.length > 0) break;
      assert.ok(i < 500, 'the batch waits for the locked row');
      await new Promise((r) => setTimeout(r, 10));
    }
    // Locked in sid order: the last row (which the table holds first) is still free, the first is the batch's.
    const probe = (id: string): Promise<unknown> => db.admin.query(`SELECT 1 FROM ${rows} WHERE app = 'app' AND sid = $1 FOR UPDATE NOWAIT`, [id]);
    await probe(last!);
    await assert.rejects(probe(first!), { code: '55P03' });
    await other.query('ROLLBACK');
    assert.deepEqual(await written, ['ok', 'ok', 'ok']);
  } finally {
    await other.query('ROLLBACK').catch(() => undefined);
    other.release();
    await db.drop();
  }
});
