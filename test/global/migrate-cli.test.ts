/** `sessiond migrate --print` (kind: integration, the built CLI and a real PostgreSQL). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pgMissing, PgTestSchema } from './pg-harness.js';
import { SCHEMA_VERSION } from '../../src/global/postgres/schema.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('migrate --print prints the SQL that migrate() applies: run by hand, the store then finds its schema current', async (t) => {
  const r = spawnSync(process.execPath, [CLI, 'migrate', '--print', '--schema', 'cli_schema'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /CREATE TABLE "cli_schema"\.sessions/);
  assert.match(r.stdout, /CREATE TABLE "cli_schema"\.blank_records/);
  assert.match(r.stdout, /ADD COLUMN IF NOT EXISTS principal text;\nCREATE INDEX IF NOT EXISTS sessions_app_principal ON "cli_schema"\.sessions \(app, principal\) WHERE principal IS NOT NULL;/);
  assert.match(r.stdout, /-- migration 5\nDROP INDEX IF EXISTS "cli_schema"\.sessions_app_owner;\nDROP INDEX IF EXISTS "cli_schema"\.sessions_app_handover;\nCREATE INDEX IF NOT EXISTS sessions_app_handover ON "cli_schema"\.sessions \(app\) WHERE handover_at IS NOT NULL;/);
  if ((await pgMissing()) !== undefined) return t.skip('PostgreSQL not reachable');
  const db = new PgTestSchema();
  try {
    const sql = spawnSync(process.execPath, [CLI, 'migrate', '--print', '--schema', db.schema], { encoding: 'utf8' }).stdout;
    await db.admin.query(sql);
    const store = await db.store();
    await store.migrate();
    const v = await db.admin.query<{ v: number }>(`SELECT max(version) AS v FROM "${db.schema}".migrations`);
    assert.equal(v.rows[0]!.v, SCHEMA_VERSION);
    const me = await store.acquireLease('cli', 10_000);
    assert.equal(await store.create(me, 'CliSessionAAAAAAAAAAAAAA', { attrs: '', createdAtMs: 1, lastAccessAtMs: 1, expiresAtMs: 0, maxInactiveMs: 0 }), true);
  } finally {
    await db.drop();
  }
});

test('migrate without --print changes nothing and exits 2', () => {
  const r = spawnSync(process.execPath, [CLI, 'migrate'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /only --print/);
});
