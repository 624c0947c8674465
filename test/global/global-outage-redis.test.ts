/**
 * A server cut off from standalone Redis (kind: integration, the machine's Redis behind a TCP
 * proxy the test cuts, own key prefix; docs/failover.md §Outage): the outage suite
 * (outage-suite.ts), as global-outage.test.ts runs it on PostgreSQL.
 */
import { outageSuite } from './outage-suite.js';
import { REDIS_URL, redisMissing, RedisTestPrefix } from './redis-harness.js';

outageSuite('Redis', async () => {
  if ((await redisMissing()) !== undefined) return undefined;
  const r = RedisTestPrefix.standalone();
  return {
    port: Number(new URL(REDIS_URL).port || 6379),
    // ioredis queues commands while it reconnects: a request that needs Redis during a cut
    // gets its 503 only when the client gives up, after its command timeout (leaseMs).
    refusesPromptly: false,
    connect: (port) => ({ redis: { url: `redis://127.0.0.1:${port}` }, keyPrefix: r.prefix }),
    store: (app) => r.store({ app }),
    leaseLapsed: async (serverId) => (await r.keys(`*:lease:${serverId}`)).length === 0,
    teardown: () => r.drop(),
  };
});
