/**
 * Schema v5 of the PostgreSQL global store (no index keyed on the owner, so a turn is a HOT
 * update; src/global/postgres/schema.ts) applied to a v4 schema holding live sessions (kind:
 * integration, real PostgreSQL): they stay served, the migration is idempotent, and turns
 * that move the owner between servers add no index entries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tableNames } from '../../src/global/postgres/pg-context.js';
import { migrations, SCHEMA_VERSION } from '../../src/global/postgres/schema.js';
import { pgMissing, PgTestSchema } from './pg-harness.js';
import { until } from './until.js';

const V4_SID = 'V4SessionAAAAAAAAAAAAAAA';

test('a v4 schema migrates to v5 with its sessions kept: no index has the owner in it, and turns moving the owner between servers are HOT updates', async (t) => {
  if ((await pgMissing()) !== undefined) return t.skip('PostgreSQL not reachable');
  const db = new PgTestSchema();
  try {
    const tn = tableNames(db.schema);
    await db.createAt(4);
    await db.admin.query(`INSERT INTO ${tn.sessions} (app, sid, attrs, version, owner, owner_epoch) VALUES ('app', $1, 'v4'::bytea, 1, 'old', 1)`, [V4_SID]);
    const s = await db.store({ rowAllocation: 'insert' });
    await s.migrate();
    const v = await db.admin.query<{ v: number }>(`SELECT max(version) AS v FROM ${tn.migrations}`);
    assert.equal(v.rows[0]!.v, SCHEMA_VERSION);
    assert.ok(SCHEMA_VERSION >= 5);
    await db.admin.query(migrations(tn)[4]!); // idempotent
    await s.migrate();
    const idx = await db.admin.query<{ indexname: string; indexdef: string }>(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'sessions'`, [db.schema]);
    for (const i of idx.rows) assert.doesNotMatch(i.indexdef, /owner/, `${i.indexname} has no owner in it`);
    assert.match(idx.rows.find((i) => i.indexname === 'sessions_app_handover')?.indexdef ?? '', /\(app\) WHERE \(handover_at IS NOT NULL\)/);
    assert.equal((await s.load(V4_SID))?.attrs, 'v4');

    const a = await s.acquireLease('srv-v5-a', 600_000);
    const b = await s.acquireLease('srv-v5-b', 600_000);
    const stats = async (): Promise<{ upd: number; hot: number }> => {
      const r = await db.admin.query<{ upd: string; hot: string }>(`SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'sessions'`, [db.schema]);
      return { upd: Number(r.rows[0]?.upd ?? 0), hot: Number(r.rows[0]?.hot ?? 0) };
    };
    const before = await stats();
    const TURNS = 12;
    for (let i = 0; i < TURNS; i++) {
      const lease = i % 2 === 0 ? a : b;
      const turn = await s.takeTurn(lease, V4_SID, 10_000, 1);
      assert.equal(turn?.record?.owner, lease.serverId, `turn ${i} taken: the owner moved`);
      await s.releaseTurn(lease, V4_SID);
    }
    // Backends report their counts to the statistics shortly after their transactions end.
    await until('the updates are counted', async () => (await stats()).upd >= before.upd + 2 * TURNS);
    const after = await stats();
    assert.equal(after.upd - before.upd, 2 * TURNS);
    assert.equal(after.hot - before.hot, 2 * TURNS, 'every turn and release was a HOT update');
  } finally {
    await db.drop();
  }
});
