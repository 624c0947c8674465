import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concurrentLoop, forEachConcurrent } from './lib/concurrent-loop.js';
import { makeSession, sessionBody } from './lib/session-data.js';
import { sessionIds } from './lib/session-ids.js';
import { loadSessiondEngine } from './lib/sessiond-engine.js';

/**
 * Only the engine's durable-write phase, for a CPU profile without the rest of the engine
 * workload around it: `node --cpu-prof --cpu-prof-dir <dir> dist/bench/profile-engine-writes.js [writers] [seconds]`.
 */
const writers = Number(process.argv[2] ?? 256);
const seconds = Number(process.argv[3] ?? 5);
const sessions = 20_000;
const dir = join(tmpdir(), `sessiond-profile-${process.pid}`);
mkdirSync(dir, { recursive: true });
const { SessionEngine, serializeObject } = await loadSessiondEngine();
const engine = await SessionEngine.open({ dir, durability: 'fsync' });
try {
  const ids = sessionIds(sessions, 42);
  const now = Date.now();
  const versions = [0, 1].map((v) => ids.map((_, i) => serializeObject(makeSession(sessionBody(42 + v, i), 1, 1, now))));
  const current = new Uint8Array(sessions);
  await forEachConcurrent(sessions, 1024, (i) => engine.save(ids[i]!, { attributes: versions[0]![i]! }));
  const r = await concurrentLoop(writers, seconds * 1000, (w, n) => {
    const i = (w + n * writers) % sessions;
    return engine.save(ids[i]!, { attributes: versions[(current[i]! ^= 1)]![i]! });
  });
  console.log(`${writers} writers: ${Math.round(r.opsPerSec)} saves/s, p50 ${r.latency.p50Ms.toFixed(3)} ms, p99 ${r.latency.p99Ms.toFixed(3)} ms, event-loop delay p99 ${r.loopDelay.p99Ms.toFixed(1)} ms, max ${r.loopDelay.maxMs.toFixed(1)} ms`);
} finally {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
}
