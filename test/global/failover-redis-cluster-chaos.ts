/**
 * The long Redis Cluster chaos run, both modes: `npm run test:redis-cluster-chaos` (6 kill
 * cycles, or SESSIOND_FAILOVER_KILLS), each followed by the SIGSTOP zombie test. The short
 * one, through mode and 3 kill cycles (a master killed -9 at the second, one paused at the
 * third) and the zombie test, is in `npm test`: failover-redis-cluster.test.ts.
 */
import { BACK, failoverSuite, THROUGH } from './failover-suite.js';
import { redisClusterChaos } from './redis-cluster-chaos.js';

failoverSuite('redis cluster, a master killed -9 and one paused', redisClusterChaos, [THROUGH, BACK], { kills: 6 });
