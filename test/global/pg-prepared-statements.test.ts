/**
 * The prepared statements of the PostgreSQL backend's hot path (kind: unit, and integration
 * with a real PostgreSQL): each text is built and named once per store context, never shared
 * between stores of other schemas on one pool; a turn statement that gives an ask no row
 * answers that ask with an Error (and only that ask).
 */
import { it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import type { GlobalWrite, ServerLease } from '../../src/global/global-store.js';
import { preparedStatement, tableNames, type PgContext } from '../../src/global/postgres/pg-context.js';
import type { PgPool, PgQueryConfig } from '../../src/global/postgres/pg-types.js';
import { takeTurns } from '../../src/global/postgres/turns.js';
import { pgMissing, PG_URL, PgTestSchema } from './pg-harness.js';

const HOUR = 3_600_000;
const w = (attrs: string): GlobalWrite => ({ attrs, createdAtMs: Date.now(), lastAccessAtMs: Date.now(), expiresAtMs: 0, maxInactiveMs: HOUR });

function context(schema: string, pool: PgPool): PgContext {
  return { pool, t: tableNames(schema), app: 'app', allocation: 'insert', blankBatch: 8, channel: 'c', tombstoneMs: 0 };
}

it('a prepared statement is built once per context, and each context gets its own text and name', () => {
  const built: string[] = [];
  const statement = preparedStatement((ctx: PgContext) => {
    built.push(ctx.t.schema);
    return `SELECT 1 FROM ${ctx.t.sessions}`;
  });
  const pool = {} as PgPool;
  const a = context('sa', pool);
  const b = context('sb', pool);
  const first = statement(a);
  assert.equal(statement(a), first, 'the same object at every call for one context');
  const other = statement(b);
  assert.deepEqual(built, ['"sa"', '"sb"'], 'built once per context');
  assert.equal(first.text, 'SELECT 1 FROM "sa".sessions');
  assert.equal(other.text, 'SELECT 1 FROM "sb".sessions');
  assert.notEqual(first.name, other.name, 'two texts, two names');
  assert.match(first.name, /^sessiond_[0-9a-f]{24}$/);
});

it('a turn ask the statement returned no row for gets an Error; the asks it answered keep their answers', async () => {
  const lease: ServerLease = { serverId: 'srv-a', epoch: 1 };
  // The second of three asks is answered (busy: locked live, not taken); the others get no row.
  const pool = {
    idleCount: 0,
    query: (config: PgQueryConfig) => {
      assert.match(config.name, /^sessiond_/);
      return Promise.resolve({ rows: [{ i: '2', present: true, leased: true, dead: null }], rowCount: 1 });
    },
  } as unknown as PgPool;
  const asks = ['a', 'b', 'c'].map((id) => ({ lease, id, turnMs: 1000, knownVersion: 0, hold: false }));
  const out = await takeTurns(context('sx', pool), asks);
  assert.equal(out.length, 3);
  assert.ok(out[0] instanceof Error, 'no row: an Error');
  assert.match((out[0] as Error).message, /returned no row/);
  assert.equal(out[1], undefined, 'busy');
  assert.ok(out[2] instanceof Error, 'no row: an Error');
});

it('two stores of other schemas on one connection each run their own statements on their own rows', async (t: TestContext) => {
  if ((await pgMissing()) !== undefined) return t.skip('PostgreSQL not reachable');
  const one = new PgTestSchema();
  const two = new PgTestSchema();
  // One connection: both stores' statements are prepared on it, side by side.
  const pool = new pg.Pool({ connectionString: PG_URL, max: 1, application_name: one.applicationName });
  try {
    const s1 = await one.store({ postgres: pool as unknown as PgPool, rowAllocation: 'insert' });
    const s2 = await two.store({ postgres: pool as unknown as PgPool, rowAllocation: 'insert' });
    await s1.migrate();
    await s2.migrate();
    const l1 = await s1.acquireLease('srv-one', 600_000);
    const l2 = await s2.acquireLease('srv-two', 600_000);
    const id = 'PreparedTwoSchemas0001xxxxxxxxx';
    assert.equal(await s1.create(l1, id, w('one')), true);
    assert.equal(await s2.create(l2, id, w('two')), true);
    const now = { one: 'one', two: 'two' };
    for (let i = 0; i < 3; i++) {
      for (const [s, l, k] of [
        [s1, l1, 'one'],
        [s2, l2, 'two'],
      ] as const) {
        const turn = await s.takeTurn(l, id, 10_000, 0);
        assert.equal(turn?.record?.attrs, now[k], `${k}: its own record`);
        assert.equal(await s.touch(l, id, Date.now(), undefined, true, 0), 'ok');
        assert.equal((await s.load(id))?.attrs, now[k]);
        assert.equal(await s.write(l, id, 1 + i, w(`${k}-${i}`), true), 'ok');
        now[k] = `${k}-${i}`;
      }
    }
    assert.equal((await s1.load(id))?.attrs, 'one-2');
    assert.equal((await s2.load(id))?.attrs, 'two-2');
    const r = await pool.query<{ name: string; statement: string }>('SELECT name, statement FROM pg_prepared_statements');
    for (const db of [one, two]) {
      const mine = r.rows.filter((x) => x.statement.includes(`"${db.schema}".sessions`));
      for (const needle of ['AS turn_ms', 'AS release', 'version = s.version + 1', 'SELECT s.sid']) {
        assert.equal(mine.filter((x) => x.statement.includes(needle)).length, 1, `${db.schema}: one statement with ${needle}`);
      }
    }
  } finally {
    await pool.end();
    await one.drop();
    await two.drop();
  }
});
