/**
 * The global store contract on a Redis Cluster of 3 masters + 3 replicas started by the
 * test (kind: contract, real servers): every script touches only its own slot, or Redis
 * refuses it with CROSSSLOT, so passing here proves the key layout.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isSessiondError } from '../../src/errors.js';
import { globalStoreContract } from './global-store-contract.js';
import { clusterToolsMissing, TestCluster } from './redis-cluster-harness.js';

let cluster: TestCluster | undefined;
after(async () => cluster?.stop());

globalStoreContract('redis cluster (3 masters + 3 replicas)', async () => {
  if ((await clusterToolsMissing()) !== undefined) return undefined;
  cluster = await TestCluster.start();
  return cluster.prefix().contractHarness();
});

describe('replicaAckMs on the cluster: WAIT 1 on the master the script wrote to', () => {
  it('acknowledges a change once a replica has it, on every master', async (t) => {
    if (cluster === undefined) return t.skip('no cluster');
    const r = cluster.prefix();
    try {
      const s = await r.store({ app: 'ack', replicaAckMs: 2000 });
      await s.migrate();
      const me = await s.acquireLease('srv-ack', 10_000);
      const w = { attrs: 'x', createdAtMs: 1, lastAccessAtMs: 1, expiresAtMs: Date.now() + 60_000, maxInactiveMs: 0 };
      // Enough IDs to land on all 3 masters.
      for (let i = 0; i < 12; i++) {
        const id = `AckSession${i}xxxxxxxxxxxxxx`;
        assert.equal(await s.create(me, id, w), true);
        assert.equal(await s.write(me, id, 1, { ...w, attrs: 'y' }, false), 'ok');
      }
      // A destroy leaves a tombstone; a retried destroy finds no record and writes to have a
      // replica confirm that, without removing the tombstone (a late create is still refused).
      const id = 'AckSession0xxxxxxxxxxxxxx';
      assert.equal(await s.destroy(me, id, 2), 'ok');
      assert.equal(await s.destroy(me, id, 0), 'absent');
      await assert.rejects(s.create(me, id, w), (e: unknown) => isSessiondError(e, 'SESSIOND_SESSION_DESTROYED'));
    } finally {
      await r.drop();
    }
  });
});
