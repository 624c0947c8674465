import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concurrentLoop, forEachConcurrent, type ConcurrentResult } from './lib/concurrent-loop.js';
import { rawLogLoop } from './lib/raw-log-loop.js';
import { makeSession, sessionBody, sessionJsonBytes } from './lib/session-data.js';
import { sessionIds } from './lib/session-ids.js';
import { loadSessiondEngine } from './lib/sessiond-engine.js';

/**
 * Only the engine's durable-write phase, for a CPU profile without the rest of the engine
 * workload around it: `node --cpu-prof --cpu-prof-dir <dir> dist/bench/profile-engine-writes.js [writers] [seconds] [raw]`.
 * Prints the process's CPU (user + system, every thread: libuv's pool, GC helpers) per save
 * over the phase; with `raw`, the raw writev+fdatasync loop of bench/engine.ts runs first
 * for as long, in the same process and directory (before the engine opens, so no flush
 * overlaps it), and its CPU per write is printed beside.
 */
const writers = Number(process.argv[2] ?? 256);
const seconds = Number(process.argv[3] ?? 5);
const withRaw = process.argv[4] === 'raw';
const sessions = 20_000;
const dir = join(tmpdir(), `sessiond-profile-${process.pid}`);
mkdirSync(dir, { recursive: true });
const { SessionEngine, serializeObject } = await loadSessiondEngine();

/** CPU µs (user + system, all threads) per operation of `run`. */
async function cpuPerOp<T extends { ops: number }>(run: () => Promise<T>): Promise<{ r: T; cpuUs: number }> {
  const c0 = process.cpuUsage();
  const r = await run();
  const c = process.cpuUsage(c0);
  return { r, cpuUs: (c.user + c.system) / r.ops };
}

const line = (what: string, r: ConcurrentResult | Awaited<ReturnType<typeof rawLogLoop>>, cpuUs: number): string =>
  `${what}: ${Math.round(r.opsPerSec)}/s, p50 ${r.latency.p50Ms.toFixed(3)} ms, p99 ${r.latency.p99Ms.toFixed(3)} ms, CPU ${cpuUs.toFixed(1)} µs each, event-loop delay p99 ${r.loopDelay.p99Ms.toFixed(1)} ms, max ${r.loopDelay.maxMs.toFixed(1)} ms`;

const now = Date.now();
if (withRaw) {
  const recordBytes = sessionJsonBytes(makeSession(sessionBody(42, 0), 1, 1, now)) + 128;
  const raw = await cpuPerOp(() => rawLogLoop(join(dir, 'raw.log'), writers, recordBytes, seconds * 1000));
  console.log(line(`raw loop, ${writers} writers, ${recordBytes} B records, ${Math.round(raw.r.ops / raw.r.groups)} a group`, raw.r, raw.cpuUs));
}
const engine = await SessionEngine.open({ dir: join(dir, 'engine'), durability: 'fsync' });
try {
  const ids = sessionIds(sessions, 42);
  const versions = [0, 1].map((v) => ids.map((_, i) => serializeObject(makeSession(sessionBody(42 + v, i), 1, 1, now))));
  const current = new Uint8Array(sessions);
  await forEachConcurrent(sessions, 1024, (i) => engine.save(ids[i]!, { attributes: versions[0]![i]! }));
  const e = await cpuPerOp(() =>
    concurrentLoop(writers, seconds * 1000, (w, n) => {
      const i = (w + n * writers) % sessions;
      return engine.save(ids[i]!, { attributes: versions[(current[i]! ^= 1)]![i]! });
    }),
  );
  console.log(line(`${writers} writers, full saves`, e.r, e.cpuUs));
} finally {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
}
