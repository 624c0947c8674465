/** The multi-process failover suite on the machine's standalone Redis, own key prefix, in both modes (kind: integration). */
import { BACK, failoverSuite, THROUGH } from './failover-suite.js';
import { REDIS_URL, redisMissing, RedisTestPrefix } from './redis-harness.js';

failoverSuite('redis (standalone)', async () => {
  if ((await redisMissing()) !== undefined) return undefined;
  const r = RedisTestPrefix.standalone();
  return { arg: JSON.stringify({ redis: { url: REDIS_URL }, keyPrefix: r.prefix }), teardown: () => r.drop() };
}, [THROUGH, BACK]);
