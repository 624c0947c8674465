/**
 * The Redis Cluster backend of the multi-process failover suite (kind: integration, real
 * processes): a cluster of 3 masters + 3 replicas started by the test; besides the servers'
 * kill -9, a master is killed -9 (a replica takes over after --cluster-node-timeout) and
 * another is paused with CLIENT PAUSE; requests wait or fail with 503, nothing acknowledged
 * is lost and no acknowledged logout comes back. The servers run with replicaAckMs (WAIT 1),
 * which is what makes "nothing lost" hold under asynchronous replication; without it the
 * owner's repair covers only what it reaches first. The killed master is not restarted, so
 * its promoted replica has no replica: every change in its slots then fails with 503
 * (though the master keeps it), which the engine must survive too.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { FailoverBackend } from './failover-suite.js';
import { clusterToolsMissing, TestCluster } from './redis-cluster-harness.js';

const run = promisify(execFile);

export async function redisClusterChaos(): Promise<FailoverBackend | undefined> {
  if ((await clusterToolsMissing()) !== undefined) return undefined;
  const cluster = await TestCluster.start();
  const r = cluster.prefix();
  // WAIT 1 after each change: a change is acknowledged only once a replica has it, so the
  // replica promoted after the kill has every acknowledged increment and logout.
  const arg = JSON.stringify({ redisCluster: { rootNodes: cluster.urls }, keyPrefix: r.prefix, replicaAckMs: 1000 });
  const killMaster = async (): Promise<string> => {
    const [victim] = await cluster.masterPorts();
    const t0 = Date.now();
    cluster.kill(victim!);
    await cluster.waitFailover(victim!);
    return `master ${victim} killed -9, a replica took over in ${Date.now() - t0} ms`;
  };
  const pauseMaster = async (): Promise<string> => {
    const masters = await cluster.masterPorts();
    const port = masters[masters.length - 1]!;
    await run('redis-cli', ['-p', String(port), 'CLIENT', 'PAUSE', '1500', 'ALL']);
    return `master ${port} paused 1500 ms`;
  };
  return {
    arg,
    disturbances: [killMaster, pauseMaster],
    teardown: async () => {
      await r.drop().catch(() => undefined);
      await cluster.stop();
    },
  };
}
