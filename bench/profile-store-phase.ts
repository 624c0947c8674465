import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreWorkload } from './lib/store-workload.js';
import { peerFactory } from './peers/peer-registry.js';

/**
 * One Store API phase of one store, alone, for a CPU profile:
 * `node --cpu-prof --cpu-prof-dir <dir> dist/bench/profile-store-phase.js <store> [depth] [readFraction] [seconds]`.
 */
const [peerKey = 'sessiond-fsync', depthArg = '64', readArg = '0.9', secondsArg = '5'] = process.argv.slice(2);
const dir = join(tmpdir(), `sessiond-profile-${process.pid}`);
mkdirSync(dir, { recursive: true });
const peer = await peerFactory(peerKey)({ dir, sessiondOptions: {} });
try {
  const w = new StoreWorkload(peer.store, 10_000, 42);
  await w.populate(256);
  const r = await w.run({ name: 'profiled', depth: Number(depthArg), readFraction: Number(readArg), durationMs: Number(secondsArg) * 1000 });
  console.log(`${peer.name} depth ${depthArg}, reads ${readArg}: ${Math.round(r.opsPerSec)} ops/s, p50 ${r.latency.p50Ms.toFixed(3)} ms, p99 ${r.latency.p99Ms.toFixed(3)} ms, event-loop delay p99 ${r.loopDelay.p99Ms.toFixed(1)} ms, max ${r.loopDelay.maxMs.toFixed(1)} ms, check failures ${r.checkFailures}`);
} finally {
  await peer.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
