/**
 * The statements of a through-mode request on PostgreSQL, and back mode's write-back batch,
 * keep one generic plan per connection (kind: integration with a real PostgreSQL): after PostgreSQL's five custom
 * plans it binds and runs the cached plan instead of planning the statement at every call
 * (planning a batched turn cost more of the backend's CPU than running it), and that plan
 * finds the asked rows through the (app, sid) index, so its cost does not grow with the
 * number of sessions (docs/failover.md §Protocol, "Batched statements").
 */
import { it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import type { GlobalWrite } from '../../src/global/global-store.js';
import type { PgPool } from '../../src/global/postgres/pg-types.js';
import { pgMissing, PG_URL, PgTestSchema } from './pg-harness.js';

const HOUR = 3_600_000;
const w = (attrs: string): GlobalWrite => ({ attrs, createdAtMs: Date.now(), lastAccessAtMs: Date.now(), expiresAtMs: 0, maxInactiveMs: HOUR });

interface PlanCounts {
  statement: string;
  generic_plans: string;
  custom_plans: string;
}

/** The one prepared statement whose text holds `needle` ran its generic plan after at most PostgreSQL's five custom ones, and that plan finds rows by (app, sid). */
async function assertGenericPlanByIndex(pool: pg.Pool, what: string, needle: string): Promise<void> {
  const r = await pool.query<PlanCounts>(`SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements`);
  const found = r.rows.filter((x) => x.statement.includes(needle));
  assert.equal(found.length, 1, `${what}: one prepared statement with ${needle}`);
  const p = found[0]!;
  assert.ok(Number(p.generic_plans) > 0, `${what}: the generic plan is used (${p.generic_plans} generic, ${p.custom_plans} custom)`);
  assert.ok(Number(p.custom_plans) <= 5, `${what}: no custom plan after PostgreSQL's first five (${p.custom_plans})`);
  // The generic plan looks the asked sessions up by their IDs, whatever the table holds.
  const client = await pool.connect();
  try {
    await client.query('SET plan_cache_mode = force_generic_plan');
    await client.query(`PREPARE generic_probe AS ${p.statement.replace(/^PREPARE \S+ AS /, '')}`);
    const types = (await client.query<{ t: string }>(`SELECT unnest(parameter_types)::text AS t FROM pg_prepared_statements WHERE name = 'generic_probe'`)).rows.map((x) => x.t);
    const plan = (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN EXECUTE generic_probe(${types.map((ty) => `NULL::${ty}`).join(', ')})`)).rows.map((x) => x['QUERY PLAN']).join('\n');
    assert.match(plan, /Index Cond: \(\(app = \$1\) AND \(sid = ANY/, `${what}: the generic plan finds rows by (app, sid):\n${plan}`);
  } finally {
    await client.query('DEALLOCATE generic_probe').catch(() => undefined);
    await client.query('RESET plan_cache_mode');
    client.release();
  }
}

it('turns, touches and write-back batches run their cached generic plan on a large analyzed table, found by the (app, sid) index', async (t: TestContext) => {
  if ((await pgMissing()) !== undefined) return t.skip('PostgreSQL not reachable');
  const db = new PgTestSchema();
  // One connection, so that every statement is prepared (and its plans counted) on it.
  const pool = new pg.Pool({ connectionString: PG_URL, max: 1, application_name: db.applicationName });
  try {
    const s = await db.store({ postgres: pool as unknown as PgPool, rowAllocation: 'insert' });
    await s.migrate();
    const a = await s.acquireLease('srv-plan-a', 600_000);
    const b = await s.acquireLease('srv-plan-b', 600_000);
    // Live rows of other sessions, analyzed: a plan that scanned the app's rows, or every row a server owns, would show in the counts below as a custom plan at each call.
    await db.admin.query(
      `INSERT INTO "${db.schema}".sessions (app, sid, attrs, created_ms, access_ms, expires_ms, inactive_ms, until_ms, owner, owner_epoch, version)
       SELECT 'app', 'filler' || g, ''::bytea, 0, 0, 0, 0, NULL, 'srv-plan-a', $1::bigint, 1 FROM generate_series(1, 20000) g`,
      [a.epoch],
    );
    await db.admin.query(`ANALYZE "${db.schema}".sessions`);
    const ids = ['PlanSession0001xxxxxxxxxxxxxxxx', 'PlanSession0002xxxxxxxxxxxxxxxx'];
    for (const id of ids) assert.equal(await s.create(a, id, w('v1')), true);
    const version = new Map(ids.map((id) => [id, 1]));
    for (let i = 0; i < 24; i++) {
      const id = ids[i % 2]!;
      const lease = i % 4 < 2 ? b : a;
      const turn = await s.takeTurn(lease, id, 10_000, version.get(id)!);
      assert.ok(turn?.record !== undefined, `turn ${i} taken`);
      if (i % 3 === 2) {
        assert.equal(await s.write(lease, id, version.get(id)!, w(`v${i}`), true), 'ok');
        version.set(id, version.get(id)! + 1);
      } else assert.equal(await s.touch(lease, id, Date.now(), undefined, true, 1000), 'ok');
    }
    // Back mode: a holds both for good and writes them back, one or both per batch.
    for (const id of ids) assert.ok((await s.takeTurn(a, id, 10_000, version.get(id)!, true))?.record !== undefined);
    for (let i = 0; i < 12; i++) {
      const batch = ids.slice(0, 1 + (i % 2)).map((id) => ({ id, expectedVersion: version.get(id)!, w: w(`b${i}`) }));
      assert.deepEqual(await s.writeBatch(a, batch), batch.map(() => 'ok'));
      for (const x of batch) version.set(x.id, x.expectedVersion + 1);
    }
    for (const [what, needle] of [
      ['turn', 'AS turn_ms'],
      ['touch', 'AS release'],
      ['write-back', 'AS expected'],
    ] as const)
      await assertGenericPlanByIndex(pool, what, needle);
  } finally {
    await db.drop();
    await pool.end();
  }
});
