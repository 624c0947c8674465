/** The global store contract on PostgreSQL, with both row allocations (kind: contract, real PostgreSQL). */
import { globalStoreContract } from './global-store-contract.js';
import { pgMissing, PgTestSchema } from './pg-harness.js';
import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { RowAllocation } from '../../src/global/postgres/pg-context.js';

for (const rowAllocation of ['blank-records', 'insert'] as RowAllocation[]) {
  globalStoreContract(`postgres (${rowAllocation})`, async () => {
    if ((await pgMissing()) !== undefined) return undefined;
    const db = new PgTestSchema();
    return {
      store: (app = 'app', tombstoneMs?: number) => db.store({ app, rowAllocation, tombstoneMs }),
      expireLease: (serverId) => db.expireLease(serverId),
      teardown: () => db.drop(),
    };
  });
}

it('blank records: destroyed (once their tombstone lapsed) and expired sessions give their rows back, and new sessions reuse them', async (t) => {
  if ((await pgMissing()) !== undefined) return t.skip('PostgreSQL not reachable');
  const db = new PgTestSchema();
  try {
    const s = await db.store({ rowAllocation: 'blank-records', blankBatch: 4, tombstoneMs: 1 });
    await s.migrate();
    const me = await s.acquireLease('srv-blank', 10_000);
    const rows = async (): Promise<number> => Number((await db.admin.query<{ n: string }>(`SELECT count(*) AS n FROM "${db.schema}".sessions`)).rows[0]!.n);
    const w = (expiresAtMs: number) => ({ attrs: 'x', createdAtMs: 1, lastAccessAtMs: 1, expiresAtMs, maxInactiveMs: 0 });
    const ids = Array.from({ length: 6 }, (_, i) => `BlankRecord${i}xxxxxxxxxxxx`);
    for (const id of ids) assert.equal(await s.create(me, id, w(Date.now() + 60_000)), true);
    const allocated = await rows();
    for (const id of ids.slice(0, 3)) assert.equal(await s.destroy(me, id, 1), 'ok');
    for (const id of ids.slice(3)) assert.equal(await s.touch(me, id, 1, Date.now() - 1, false), 'ok');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(await s.cleanupExpired(100), 6, 'the 3 expired records and the 3 lapsed tombstones');
    for (let i = 0; i < 6; i++) assert.equal(await s.create(me, `BlankReuse${i}xxxxxxxxxxxxx`, w(Date.now() + 60_000)), true);
    assert.equal(await rows(), allocated, 'no new row: the blank records were claimed');
  } finally {
    await db.drop();
  }
});
