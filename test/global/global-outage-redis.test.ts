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
    // The offline gate (src/global/redis/offline-gate.ts) refuses within offlineWaitMsMax
    // instead of ioredis's command timeout (how promptly: global-outage-redis-prompt.test.ts).
    refusesPromptly: true,
    connect: (port) => ({ redis: { url: `redis://127.0.0.1:${port}` }, keyPrefix: r.prefix }),
    store: (app) => r.store({ app }),
    leaseLapsed: async (serverId) => (await r.keys(`*:lease:${serverId}`)).length === 0,
    teardown: () => r.drop(),
  };
});
