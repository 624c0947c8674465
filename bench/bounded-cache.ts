/**
 * Stores bigger than memory (issue 12 part 4): N sessions of ~1 KiB saved into an engine
 * whose `cacheBytesMax` is a tenth of their loaded size, then Zipf-distributed reads.
 *
 *   node --expose-gc dist/bench/bounded-cache.js <dir> <sessions> [readSeconds] [zipfS] [boundFraction]
 *
 * Prints one JSON line: populate time, RSS above the process's baseline after GC against
 * cacheBytesMax (the rest is the fixed cost per session: database index, summaries, IDs),
 * the cache's own counts, and read latency p50/p99 split by whether the session was loaded
 * (hot) or on disk (cold) when the read began, with the hit ratio. Writes use durability
 * 'none' (write(), no fsync) to populate quickly; eviction depends on the flusher, not on the
 * log's durability. The harness keeps no per-session data: IDs are derived from the index.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { forEachConcurrent } from './lib/concurrent-loop.js';
import { LatencyRecorder } from './lib/latency-recorder.js';
import { rssBytes, settleHeap } from './lib/rss.js';
import { makeSession, sessionBody, sessionJsonBytes } from './lib/session-data.js';
import { loadSessiondEngine } from './lib/sessiond-engine.js';
import { Prng } from '../src/util/prng.js';

const SEED = 42;
const TEMPLATES = 64;
const POPULATE_DEPTH = 512;
/** Bytes the cache counts per loaded session beyond its text (src/engine/loaded-sessions.ts). */
const STATE_BYTES_FIXED = 160;

function idOf(i: number): string {
  return `bc${i.toString(36).padStart(22, '0')}`;
}

/**
 * Ranks 0..n-1 drawn with probability ~ 1/(rank+1)^s, mapped to sessions by a fixed
 * permutation (rank r is session (r * 7919 + 13) mod n), so the hot sessions are spread over
 * the store rather than being the first ones saved.
 */
class Zipf {
  private readonly cdf: Float64Array;
  constructor(
    private readonly n: number,
    s: number,
    private readonly prng: Prng,
  ) {
    this.cdf = new Float64Array(n);
    let sum = 0;
    for (let r = 0; r < n; r++) this.cdf[r] = sum += 1 / Math.pow(r + 1, s);
    for (let r = 0; r < n; r++) this.cdf[r]! /= sum;
  }
  next(): number {
    const u = this.prng.float();
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return (lo * 7919 + 13) % this.n;
  }
}

async function main(): Promise<void> {
  const [dirArg, sessionsArg, secondsArg, zipfArg, fractionArg] = process.argv.slice(2);
  if (dirArg === undefined || sessionsArg === undefined) {
    console.error('usage: bounded-cache.js <dir> <sessions> [readSeconds=20] [zipfS=0.99] [boundFraction=0.1]');
    process.exit(2);
  }
  const dir = resolve(dirArg);
  const n = Number(sessionsArg);
  const readMs = Number(secondsArg ?? 20) * 1000;
  const zipfS = Number(zipfArg ?? 0.99);
  const fraction = Number(fractionArg ?? 0.1);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const { SessionEngine, serializeObject } = await loadSessiondEngine();
  const bodies = Array.from({ length: TEMPLATES }, (_, k) => makeSession(sessionBody(SEED, k), 1, 0, Date.now()));
  const templates = bodies.map((b) => serializeObject(b));
  const payloadBytes = bodies.reduce((s, b) => s + sessionJsonBytes(b), 0) / TEMPLATES;
  const attrsOf = (i: number): Record<string, string> => ({ ...templates[i % TEMPLATES]!, userId: JSON.stringify(`u_${i.toString(36).padStart(8, '0')}`), counter: String(i) });
  const loadedBytesEach = STATE_BYTES_FIXED + idOf(0).length + payloadBytes;
  const cacheBytesMax = Math.round(n * loadedBytesEach * fraction);

  await settleHeap();
  const rssBase = rssBytes();
  const engine = await SessionEngine.open({ dir, durability: 'none', cacheBytesMax });
  const cpu0 = process.cpuUsage();
  const populateSeconds = await forEachConcurrent(n, POPULATE_DEPTH, (i) => engine.save(idOf(i), { attributes: attrsOf(i) }));
  await engine.flush();
  for (let i = 0; i < 200 && (await engine.stats()).cache.bytes > cacheBytesMax; i++) await new Promise((r) => setTimeout(r, 10));
  const populateCpu = process.cpuUsage(cpu0);
  await settleHeap();
  const rssAfterPopulate = rssBytes();
  const afterPopulate = (await engine.stats()).cache;

  // Zipf reads, 64 outstanding; a read is hot when the session was loaded as it began.
  const zipf = new Zipf(n, zipfS, new Prng(SEED + 1));
  const hot = new LatencyRecorder(1 << 18, 1);
  const cold = new LatencyRecorder(1 << 18, 2);
  let reads = 0;
  let missing = 0;
  const endAt = performance.now() + readMs;
  const reader = async (): Promise<void> => {
    while (performance.now() < endAt) {
      const id = idOf(zipf.next());
      let loaded = true;
      try {
        engine.get(id);
      } catch {
        loaded = false; // SESSIOND_SESSION_NOT_LOADED
      }
      const t = performance.now();
      const s = await engine.read(id);
      (loaded ? hot : cold).record(performance.now() - t);
      if (s === undefined) missing++;
      reads++;
    }
  };
  const cpu1 = process.cpuUsage();
  await Promise.all(Array.from({ length: 64 }, () => reader()));
  const readCpu = process.cpuUsage(cpu1);
  await settleHeap();
  const rssAfterReads = rssBytes();
  const st = await engine.stats();
  const h = hot.summary();
  const c = cold.summary();
  const mib = (b: number): number => Math.round(b / 2 ** 20);
  console.log(
    JSON.stringify({
      sessions: n,
      payloadBytes: Math.round(payloadBytes),
      cacheBytesMaxMiB: mib(cacheBytesMax),
      populateSeconds: Math.round(populateSeconds * 10) / 10,
      populateCpuSeconds: Math.round((populateCpu.user + populateCpu.system) / 1e5) / 10,
      afterPopulate: { loaded: afterPopulate.loaded, cold: afterPopulate.cold, bytesMiB: mib(afterPopulate.bytes), evictions: afterPopulate.evictions },
      rssAboveBaselineMiB: { afterPopulate: mib(rssAfterPopulate - rssBase), afterReads: mib(rssAfterReads - rssBase) },
      rssOverBoundPerSessionBytes: Math.round((rssAfterReads - rssBase - cacheBytesMax) / n),
      reads,
      missing,
      readsPerSecond: Math.round(reads / (readMs / 1000)),
      readCpuSeconds: Math.round((readCpu.user + readCpu.system) / 1e5) / 10,
      hitRatio: Math.round((h.count / Math.max(1, reads)) * 1000) / 1000,
      hotMs: { count: h.count, p50: h.p50Ms, p99: h.p99Ms },
      coldMs: { count: c.count, p50: c.p50Ms, p99: c.p99Ms },
      cache: st.cache,
      dbFileMiB: mib(st.db.fileBytes),
    }),
  );
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
}

await main();
