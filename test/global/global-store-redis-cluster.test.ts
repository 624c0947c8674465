/**
 * The global store contract on a Redis Cluster of 3 masters + 3 replicas started by the
 * test (kind: contract, real servers): every script touches only its own slot, or Redis
 * refuses it with CROSSSLOT, so passing here proves the key layout.
 */
import { after } from 'node:test';
import { globalStoreContract } from './global-store-contract.js';
import { clusterToolsMissing, TestCluster } from './redis-cluster-harness.js';

let cluster: TestCluster | undefined;
after(async () => cluster?.stop());

globalStoreContract('redis cluster (3 masters + 3 replicas)', async () => {
  if ((await clusterToolsMissing()) !== undefined) return undefined;
  cluster = await TestCluster.start();
  const r = cluster.prefix();
  return {
    store: (app = 'app') => r.store({ app }),
    expireLease: (serverId) => r.expireLease(serverId),
    teardown: () => r.drop(),
    expiresNatively: true,
  };
});
