/**
 * Test support for the PostgreSQL global store (kind: integration with a real server on
 * 127.0.0.1:5432, database `test`). Each run gets its own schema and drops it at the end;
 * the machine's PostgreSQL is never stopped or reconfigured. Under CI=true a missing
 * PostgreSQL fails the test; elsewhere the tests skip with a loud message.
 */
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { PostgresGlobalStore, type PostgresStoreOptions } from '../../src/global/postgres/postgres-global-store.js';
import type { PgPool } from '../../src/global/postgres/pg-types.js';
import { quoteIdent, tableNames } from '../../src/global/postgres/pg-context.js';
import { migrations } from '../../src/global/postgres/schema.js';

export const PG_URL = process.env.SESSIOND_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Resolves a reason to skip, or undefined when PostgreSQL answers. Throws under CI. */
export async function pgMissing(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return undefined;
  } catch (e) {
    const why = `PostgreSQL at ${PG_URL} is not reachable (${String((e as Error).message)})`;
    if (process.env.CI === 'true') throw new Error(`${why}: the global store tests need it under CI`);
    console.error(`\n!!! SKIPPING PostgreSQL global store tests: ${why} !!!\n`);
    return why;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** A schema of its own when PostgreSQL answers; undefined (the tests skip) when not, outside CI. */
export async function pgTestSchema(): Promise<PgTestSchema | undefined> {
  return (await pgMissing()) === undefined ? new PgTestSchema() : undefined;
}

/** A schema of its own for one test file, and a pool to inspect and poke it. */
export class PgTestSchema {
  readonly schema = `sessiond_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  readonly applicationName = `sessiond-test-${this.schema}`;
  readonly admin: pg.Pool = new pg.Pool({ connectionString: PG_URL, max: 2, application_name: `${this.applicationName}-admin` });
  private readonly stores: PostgresGlobalStore[] = [];

  constructor() {
    this.admin.on('error', () => undefined);
  }

  async store(over: Partial<PostgresStoreOptions> = {}): Promise<PostgresGlobalStore> {
    const s = await PostgresGlobalStore.create({
      postgres: { connectionString: PG_URL },
      app: 'app',
      schema: this.schema,
      rowAllocation: 'blank-records',
      blankBatch: 8,
      poolMax: 4,
      sessionTtlMs: 60_000,
      applicationName: this.applicationName,
      ...over,
    });
    this.stores.push(s);
    return s;
  }

  /** The schema as a sessiond of schema version `version` left it (its first migrations applied), with app 'app' registered. */
  async createAt(version: number): Promise<void> {
    const tn = tableNames(this.schema);
    await this.admin.query(`CREATE SCHEMA ${quoteIdent(this.schema)}`);
    await this.admin.query(`CREATE TABLE ${tn.migrations} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    for (const [i, sql] of migrations(tn).slice(0, version).entries()) {
      await this.admin.query(sql);
      await this.admin.query(`INSERT INTO ${tn.migrations} (version) VALUES ($1)`, [i + 1]);
    }
    await this.admin.query(`INSERT INTO ${tn.applications} (app, schema_version, session_ttl_ms) VALUES ('app', $1, 60000)`, [version]);
  }

  /** Moves a server's lease expiry into the past (instead of sleeping past it). */
  async expireLease(serverId: string): Promise<void> {
    await this.admin.query(`UPDATE ${quoteIdent(this.schema)}.server_leases SET expires_at = now() - interval '1 second' WHERE server_id = $1`, [serverId]);
  }

  async drop(): Promise<void> {
    for (const s of this.stores) await s.close().catch(() => undefined);
    await this.admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(this.schema)} CASCADE`);
    await this.admin.end();
  }
}

export type { PgPool };
