/**
 * The cost of `replicaAckMs` (WAIT 1 after each change) on a Redis Cluster of 3 masters +
 * 3 replicas started here (test/global/redis-cluster-harness.ts): one loop of fenced writes
 * to a few sessions, then 16 concurrent loops, with and without the wait. Prints writes/s
 * and the mean latency of one write.
 * Run: npx tsc -p tsconfig.json && node dist/bench/redis-wait.js [writes per loop]
 */
import { performance } from 'node:perf_hooks';
import { TestCluster } from '../test/global/redis-cluster-harness.js';

const N = Number(process.argv[2] ?? 1000);
const cluster = await TestCluster.start();
try {
  for (const replicaAckMs of [0, 1000]) {
    for (const loops of [1, 16]) {
      const r = cluster.prefix();
      const s = await r.store({ app: 'wait', replicaAckMs });
      await s.migrate();
      const me = await s.acquireLease('bench', 60_000);
      const w = { attrs: 'x'.repeat(200), createdAtMs: 1, lastAccessAtMs: 1, expiresAtMs: Date.now() + 600_000, maxInactiveMs: 0 };
      const ids = Array.from({ length: loops }, (_, i) => `WaitBench${i}xxxxxxxxxxxxxxx`);
      for (const id of ids) await s.create(me, id, w);
      const t0 = performance.now();
      await Promise.all(
        ids.map(async (id) => {
          for (let v = 1; v <= N; v++) if ((await s.write(me, id, v, w, false)) !== 'ok') throw new Error('write refused');
        }),
      );
      const ms = performance.now() - t0;
      console.log(`replicaAckMs ${String(replicaAckMs).padStart(4)}, ${String(loops).padStart(2)} loop(s): ${((N * loops) / (ms / 1000)).toFixed(0).padStart(6)} writes/s, ${((ms / N) * 1000).toFixed(0).padStart(5)} µs per write of one loop`);
      await r.drop();
    }
  }
} finally {
  await cluster.stop();
}
