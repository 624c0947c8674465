/**
 * Moving from connect-pg-simple (kind: integration with the machine's PostgreSQL on
 * 127.0.0.1:5432, database `test`, a schema of this run's own, created here and dropped at
 * the end, so a run killed midway leaves nothing in the way of the next one). Sessions
 * are written by connect-pg-simple 10, exported with `sessiond export --from-pg`, imported
 * with `sessiond import`, and read through sessiond's express store. Under CI=true a
 * missing PostgreSQL fails the test; elsewhere it is skipped with a loud message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import session from 'express-session';
import { CLI, run } from '../server/server-process.js';
import { pgSessions } from '../../src/transfer/pg-source.js';
import { PG_URL, pgMissing } from '../global/pg-harness.js';
import { assertImportedLikeOldStore, expressSessions } from './migration-fixtures.js';

const require = createRequire(import.meta.url);
const TZ = 'Asia/Tokyo';
type PgStoreClass = new (o: object) => session.Store & { close(): Promise<void> };
const connectPgSimple = require('connect-pg-simple') as (s: typeof session) => PgStoreClass;

function set(store: session.Store, sid: string, s: session.SessionData): Promise<void> {
  return new Promise((resolve, reject) => store.set(sid, s, (err) => (err ? reject(err as Error) : resolve())));
}

test('sessions written by connect-pg-simple read back identically through the express store after export --from-pg and import, expiry within a second of the expire column', { timeout: 120_000 }, async (t) => {
  if ((await pgMissing()) !== undefined) return t.skip('no PostgreSQL');
  // connect-pg-simple names its primary key "session_pkey" whatever the table: an index name,
  // unique in its schema, so a table left in a shared schema by an earlier run (killed before
  // its DROP) made the create fail with 'relation "session_pkey" already exists'. A schema of
  // the run's own holds it. Mixed case: the table name must be quoted wherever it is used.
  const schema = `sessiond_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const table = 'Export_Test';
  const qualified = `"${schema}"."${table}"`;
  // Writer and exporter in a time zone far from UTC: the expire column (a timestamp without
  // time zone) must be read back in the zone it was written in.
  const pool = new pg.Pool({ connectionString: PG_URL, max: 2, options: `-c TimeZone=${TZ}` });
  const sourceUrl = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c TimeZone=${TZ}`)}`;
  const PgStore = connectPgSimple(session);
  const store = new PgStore({ pool, schemaName: schema, tableName: table, createTableIfMissing: true, pruneSessionInterval: false });
  const root = mkdtempSync(join(tmpdir(), 'export-pg-'));
  try {
    await pool.query(`CREATE SCHEMA "${schema}"`); // the store creates its table on first use
    const sessions = expressSessions();
    for (const [sid, s] of sessions) await set(store, sid, s);
    // A row already past its expire: skipped, as connect-pg-simple would no longer return it.
    await pool.query(`INSERT INTO ${qualified} (sid, sess, expire) VALUES ('stale', '{"cookie":{}}', now() - interval '1 minute')`);
    const file = join(root, 'from-pg.jsonl');
    const ex = await run(process.execPath, [CLI, 'export', '--from-pg', sourceUrl, '--table', `${schema}.${table}`, '--out', file]);
    assert.equal(ex.code, 0, ex.stderr);
    assert.match(ex.stderr, /1 expired or vanished/);
    await assertImportedLikeOldStore(file, join(root, 'store'), store, sessions.keys(), async (sid) => {
      const r = await pool.query<{ ms: number }>(`SELECT (extract(epoch FROM expire::timestamptz) * 1000)::float8 AS ms FROM ${qualified} WHERE sid = $1`, [sid]);
      return r.rows[0]!.ms;
    });
    // Pages of 7 rows: every row once, whatever the page boundaries.
    const counts = { skipped: 0 };
    const paged: string[] = [];
    for await (const s of pgSessions(sourceUrl, `${schema}.${table}`, Date.now, counts, 7)) paged.push(s.id);
    assert.deepEqual(paged.sort(), [...sessions.keys()].sort());
    assert.equal(counts.skipped, 1);
    const missing = await run(process.execPath, [CLI, 'export', '--from-pg', PG_URL, '--table', `${schema}.${table}_nope`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /SESSIOND_MIGRATION_SOURCE: .*postgres: reading .*does not exist/);
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await store.close();
    await pool.end();
    rmSync(root, { recursive: true, force: true });
  }
});
