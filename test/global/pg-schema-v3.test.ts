/**
 * Schema v3 of the PostgreSQL global store (global tombstones, docs/failover.md §Tombstones)
 * applied to a v2 schema holding live sessions (kind: integration, real PostgreSQL): the
 * sessions stay served, a destroy then leaves a tombstone, and the migration is idempotent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSessiondError } from '../../src/errors.js';
import { tableNames } from '../../src/global/postgres/pg-context.js';
import { migrations, SCHEMA_VERSION } from '../../src/global/postgres/schema.js';
import { pgMissing, PgTestSchema } from './pg-harness.js';

const w = { attrs: 'v2', createdAtMs: 1, lastAccessAtMs: 1, expiresAtMs: 0, maxInactiveMs: 0 };

for (const rowAllocation of ['insert', 'blank-records'] as const) {
  test(`a v2 schema migrates to v3 with its sessions kept; destroy then leaves a tombstone (${rowAllocation})`, async (t) => {
    if ((await pgMissing()) !== undefined) return t.skip('PostgreSQL not reachable');
    const db = new PgTestSchema();
    try {
      const tn = tableNames(db.schema);
      // The schema as a v2 sessiond left it, with a session created by a v2 store's statements.
      await db.createAt(2);
      await db.admin.query(`INSERT INTO ${tn.sessions} (app, sid, attrs, version, owner, owner_epoch) VALUES ('app', 'V2SessionAAAAAAAAAAAAAAA', 'v2'::bytea, 3, 'old', 1)`);
      const s = await db.store({ rowAllocation });
      await s.migrate();
      const v = await db.admin.query<{ v: number }>(`SELECT max(version) AS v FROM ${tn.migrations}`);
      assert.equal(v.rows[0]!.v, SCHEMA_VERSION);
      assert.equal((await s.load('V2SessionAAAAAAAAAAAAAAA'))?.attrs, 'v2', 'the v2 session is still served');
      assert.equal(await s.count(), 1);
      // Idempotent: the v3 statement again changes nothing, and so does a second migrate.
      await db.admin.query(migrations(tn)[2]!);
      await s.migrate();
      const me = await s.acquireLease('srv-v3', 10_000);
      await db.admin.query(`UPDATE ${tn.sessions} SET owner = 'srv-v3', owner_epoch = $1`, [me.epoch]);
      assert.equal(await s.destroy(me, 'V2SessionAAAAAAAAAAAAAAA', 3), 'ok');
      await assert.rejects(s.create(me, 'V2SessionAAAAAAAAAAAAAAA', w), (e: unknown) => isSessiondError(e, 'SESSIOND_SESSION_DESTROYED'));
      assert.equal(await s.count(), 0);
      assert.equal(await s.create(me, 'V3SessionAAAAAAAAAAAAAAA', w), true);
    } finally {
      await db.drop();
    }
  });
}
