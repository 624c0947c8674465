/**
 * Schema v4 of the PostgreSQL global store (the global principal index, docs/failover.md
 * §Sessions of a principal) applied to a v3 schema holding live sessions (kind:
 * integration, real PostgreSQL): they stay served, gain their principal on their next
 * write (no backfill: the principal is computed by the servers' option), and the migration
 * is idempotent. Until then the server that served a session still finds it through its
 * own index.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import { resolveGlobalOptions } from '../../src/global/global-options.js';
import { EngineHandle } from '../../src/adapters/engine-handle.js';
import { tableNames } from '../../src/global/postgres/pg-context.js';
import { migrations, SCHEMA_VERSION } from '../../src/global/postgres/schema.js';
import { pgMissing, PgTestSchema } from './pg-harness.js';

const V3_SID = 'V3SessionAAAAAAAAAAAAAAA';
const V3_ATTRS = '"user"\u0002"ivy"';

for (const rowAllocation of ['insert', 'blank-records'] as const) {
  test(`a v3 schema migrates to v4 with its sessions kept; a row gains its principal on its next write (${rowAllocation})`, async (t) => {
    if ((await pgMissing()) !== undefined) return t.skip('PostgreSQL not reachable');
    const db = new PgTestSchema();
    try {
      const tn = tableNames(db.schema);
      await db.createAt(3);
      // A session as a v3 store's create left it (no principal column yet).
      await db.admin.query(`INSERT INTO ${tn.sessions} (app, sid, attrs, version, owner, owner_epoch) VALUES ('app', $1, $2::bytea, 1, 'old', 1)`, [V3_SID, Buffer.from(V3_ATTRS)]);
      const s = await db.store({ rowAllocation });
      await s.migrate();
      const v = await db.admin.query<{ v: number }>(`SELECT max(version) AS v FROM ${tn.migrations}`);
      assert.equal(v.rows[0]!.v, SCHEMA_VERSION);
      assert.ok(SCHEMA_VERSION >= 4);
      const idx = await db.admin.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'sessions_app_principal'`, [db.schema]);
      assert.match(String(idx.rows[0]?.indexdef), /\(app, principal\) WHERE \(principal IS NOT NULL\)/);
      await db.admin.query(migrations(tn)[3]!); // idempotent
      await s.migrate();
      assert.deepEqual(await s.load(V3_SID), { id: V3_SID, attrs: V3_ATTRS, createdAtMs: 0, lastAccessAtMs: 0, expiresAtMs: 0, maxInactiveMs: 0, owner: 'old', ownerEpoch: 1, version: 1, principal: '' });
      assert.deepEqual(await s.sessionsOf('ivy', 10), [], 'not indexed before its next write');
      const me = await s.acquireLease('srv-v4', 10_000);
      await db.admin.query(`UPDATE ${tn.sessions} SET owner = 'srv-v4', owner_epoch = $1`, [me.epoch]);
      assert.equal(await s.write(me, V3_SID, 1, { attrs: V3_ATTRS, createdAtMs: 0, lastAccessAtMs: 0, expiresAtMs: 0, maxInactiveMs: 0, principal: 'ivy' }, false), 'ok');
      assert.deepEqual((await s.sessionsOf('ivy', 10)).map((r) => r.id), [V3_SID], 'the write gave it its principal');
    } finally {
      await db.drop();
    }
  });
}

test('a row written before v4 (no principal) is still found by the server whose index holds it, and revoked there', async (t) => {
  if ((await pgMissing()) !== undefined) return t.skip('PostgreSQL not reachable');
  const db = new PgTestSchema();
  const engines: GlobalSessionEngine[] = [];
  try {
    const server = async (name: string): Promise<EngineHandle> => {
      const g = resolveGlobalOptions({ postgres: { connectionString: 'unused' }, app: 'app', serverId: name, leaseMs: 60_000, inheritIntervalMs: 3_600_000, cleanupIntervalMs: 3_600_000 }, '/s');
      const e = await GlobalSessionEngine.compose({ dir: '/s', fs: new SimFileSystem(), flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000, principal: 'user' }, g, await db.store());
      engines.push(e);
      return new EngineHandle(e);
    };
    const [a, b] = [await server('v4-a'), await server('v4-b')];
    await a.save(V3_SID, { user: JSON.stringify('ivy') }, undefined);
    await db.admin.query(`UPDATE ${tableNames(db.schema).sessions} SET principal = NULL WHERE sid = $1`, [V3_SID]); // as a v3 server wrote it
    assert.deepEqual(await b.sessionsOf('ivy'), [], 'another server: not until its next write');
    assert.deepEqual(await a.sessionsOf('ivy'), [V3_SID], "the server that served it: its own index, checked against the record's attributes");
    assert.equal(await a.destroyAllOf('ivy'), 1);
    assert.equal(await b.load(V3_SID), undefined);
  } finally {
    for (const e of engines) await e.close().catch(() => undefined);
    await db.drop();
  }
});
