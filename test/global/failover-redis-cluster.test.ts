/**
 * The short Redis Cluster chaos run of `npm test` (issue 11): through mode, 3 kill -9 /
 * restart cycles of the servers, a master killed -9 at the second and one paused at the
 * third; then the SIGSTOP zombie test (a server paused past its lease is fenced). The long
 * run, both modes and 6 kill cycles: `npm run test:redis-cluster-chaos`.
 */
import { failoverSuite, THROUGH } from './failover-suite.js';
import { redisClusterChaos } from './redis-cluster-chaos.js';

failoverSuite('redis cluster, a master killed -9 and one paused', redisClusterChaos, [THROUGH], { kills: 3 });
