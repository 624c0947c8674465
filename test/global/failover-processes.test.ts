/**
 * Failover between real server processes sharing PostgreSQL (kind: integration, real
 * processes, real PostgreSQL), in both modes: 3 express servers behind a round-robin proxy,
 * clients doing logins, increments and logouts while servers are killed with SIGKILL and
 * restarted; and a zombie server (SIGSTOP past its lease, SIGCONT) that must be fenced.
 * The scenario is test/global/failover-suite.ts, shared with the Redis backends.
 */
import { BACK, failoverSuite, THROUGH } from './failover-suite.js';
import { pgMissing, PgTestSchema } from './pg-harness.js';

failoverSuite(
  'postgres',
  async () => {
    if ((await pgMissing()) !== undefined) return undefined;
    const db = new PgTestSchema();
    return { arg: db.schema, teardown: () => db.drop() };
  },
  [THROUGH, BACK],
);
