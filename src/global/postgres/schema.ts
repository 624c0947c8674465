import { SessiondError } from '../../errors.js';
import { inTransaction, type PgContext, type TableNames } from './pg-context.js';

/**
 * The schema of the PostgreSQL global store (docs/failover.md §Tables), as numbered
 * migrations. Applied on first use inside one transaction under a transaction-scoped
 * advisory lock, so several servers starting at once apply each migration exactly once
 * (the lock only serializes migrations; it fences nothing). `sessiond migrate --print`
 * prints the same SQL.
 */

export const SCHEMA_VERSION = 5;

export function migrations(t: TableNames): readonly string[] {
  return [
    // 1: the seed's three tables plus the server leases.
    `CREATE TABLE ${t.applications} (
  app text PRIMARY KEY,
  schema_version integer NOT NULL,
  session_ttl_ms bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE SEQUENCE ${t.epochs};
CREATE TABLE ${t.leases} (
  app text NOT NULL,
  server_id text NOT NULL,
  epoch bigint NOT NULL,
  expires_at timestamptz NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (app, server_id)
);
CREATE TABLE ${t.sessions} (
  slot bigserial PRIMARY KEY,
  app text,
  sid text,
  attrs bytea NOT NULL DEFAULT ''::bytea,
  created_ms bigint NOT NULL DEFAULT 0,
  access_ms bigint NOT NULL DEFAULT 0,
  expires_ms bigint NOT NULL DEFAULT 0,
  inactive_ms bigint NOT NULL DEFAULT 0,
  until_ms bigint,
  owner text,
  owner_epoch bigint NOT NULL DEFAULT 0,
  version bigint NOT NULL DEFAULT 0,
  turn_until timestamptz
);
CREATE UNIQUE INDEX sessions_app_sid ON ${t.sessions} (app, sid) WHERE sid IS NOT NULL;
CREATE INDEX sessions_app_until ON ${t.sessions} (app, until_ms) WHERE sid IS NOT NULL;
CREATE INDEX sessions_app_owner ON ${t.sessions} (app, owner, owner_epoch) WHERE sid IS NOT NULL;
CREATE TABLE ${t.blanks} (
  slot bigint PRIMARY KEY
);`,
    // 2: back mode's hand-over: another server asked the owner (which holds the turn until
    // its lease lapses) to write the session back and let go of it.
    `ALTER TABLE ${t.sessions} ADD COLUMN handover_at timestamptz;
CREATE INDEX sessions_app_handover ON ${t.sessions} (app, owner) WHERE handover_at IS NOT NULL;`,
    // 3: global tombstones: a destroyed record keeps its row (blank, no owner) with its destroy
    // time until until_ms (destroy time + tombstoneMs), so that a late save on any server is
    // refused; every reader treats it as absent, and the expiry cleanup frees it.
    `ALTER TABLE ${t.sessions} ADD COLUMN IF NOT EXISTS destroyed_ms bigint;`,
    // 4: the global principal index (issue 12): whose session it is, set by every create and
    // write (NULL = none; rows of v3 gain it on their next write), cleared by a destroy and
    // by a blank; indexed for the live rows of a principal (sessionsOf, destroyAllOf).
    `ALTER TABLE ${t.sessions} ADD COLUMN IF NOT EXISTS principal text;
CREATE INDEX IF NOT EXISTS sessions_app_principal ON ${t.sessions} (app, principal) WHERE principal IS NOT NULL;`,
    // 5: no index has the owner in it, so that taking a turn (which moves the owner whenever a
    // session's requests change server) is a HOT update, as a touch is: no new index entries.
    // The hand-over index keys on the app alone (marked rows are few); the owner index goes
    // (only a server's registration used it: adopt now reads the app's rows once); and the
    // writes' plans can no longer pick it over (app, sid) and read every row a server owns.
    `DROP INDEX IF EXISTS ${t.schema}.sessions_app_owner;
DROP INDEX IF EXISTS ${t.schema}.sessions_app_handover;
CREATE INDEX IF NOT EXISTS sessions_app_handover ON ${t.sessions} (app) WHERE handover_at IS NOT NULL;`,
  ];
}

/** Every statement `migrate()` may run, for `sessiond migrate --print`. */
export function migrationSql(t: TableNames): string {
  const steps = migrations(t).map((sql, i) => `-- migration ${i + 1}\n${sql}\nINSERT INTO ${t.migrations} (version) VALUES (${i + 1});`);
  return [
    `CREATE SCHEMA IF NOT EXISTS ${t.schema};`,
    `CREATE TABLE IF NOT EXISTS ${t.migrations} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());`,
    ...steps,
  ].join('\n\n');
}

/** Brings the schema to SCHEMA_VERSION and registers the app; refuses a schema newer than this code. */
export async function migrate(ctx: PgContext, sessionTtlMs: number): Promise<void> {
  const { t } = ctx;
  await inTransaction(ctx, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`sessiond-migrate:${t.schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${t.schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${t.migrations} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const r = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${t.migrations}`);
    const current = r.rows[0]?.v ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new SessiondError('SESSIOND_FORMAT_UNSUPPORTED', `global store schema version ${current} is newer than this sessiond (${SCHEMA_VERSION})`, { schemaVersion: current });
    }
    const all = migrations(t);
    for (let v = current + 1; v <= SCHEMA_VERSION; v++) {
      await client.query(all[v - 1]!);
      await client.query(`INSERT INTO ${t.migrations} (version) VALUES ($1)`, [v]);
    }
    await client.query(
      `INSERT INTO ${t.applications} (app, schema_version, session_ttl_ms) VALUES ($1, $2, $3)
       ON CONFLICT (app) DO UPDATE SET schema_version = EXCLUDED.schema_version`,
      [ctx.app, SCHEMA_VERSION, sessionTtlMs],
    );
  });
}
