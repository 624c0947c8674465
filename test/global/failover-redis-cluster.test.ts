/**
 * The short Redis Cluster chaos run of `npm test` (issue 11): through mode, 3 kill -9 /
 * restart cycles of the servers, a master killed -9 at the second and one paused at the
 * third. The long run, both modes and the SIGSTOP zombie test: `npm run test:redis-cluster-chaos`
 * (the zombie test runs in `npm test` on standalone Redis and PostgreSQL; on the cluster at
 * load 47 it once saw the woken server serve a stale read: docs/failover.md, Known problems).
 */
import { failoverSuite, THROUGH } from './failover-suite.js';
import { redisClusterChaos } from './redis-cluster-chaos.js';

failoverSuite('redis cluster, a master killed -9 and one paused', redisClusterChaos, [THROUGH], { kills: 3, zombie: false });
