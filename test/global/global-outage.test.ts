/**
 * A server cut off from PostgreSQL (kind: integration, real PostgreSQL behind a TCP proxy the
 * test cuts, own schema; docs/failover.md §Outage): the outage suite (outage-suite.ts).
 */
import { quoteIdent } from '../../src/global/postgres/pg-context.js';
import { outageSuite } from './outage-suite.js';
import { PG_URL, pgMissing, PgTestSchema } from './pg-harness.js';

/** PG_URL on another port of this machine (the proxy's). */
function urlOnPort(port: number): string {
  const u = new URL(PG_URL);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

outageSuite('PostgreSQL', async () => {
  if ((await pgMissing()) !== undefined) return undefined;
  const db = new PgTestSchema();
  return {
    port: Number(new URL(PG_URL).port || 5432),
    refusesPromptly: true,
    connect: (port) => ({ postgres: { connectionString: urlOnPort(port) }, schema: db.schema, poolMax: 3 }),
    store: (app) => db.store({ app }),
    leaseLapsed: async (serverId) =>
      (await db.admin.query(`SELECT 1 FROM ${quoteIdent(db.schema)}.server_leases WHERE server_id = $1 AND expires_at <= now()`, [serverId])).rowCount === 1,
    teardown: () => db.drop(),
  };
});
