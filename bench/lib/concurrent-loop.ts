import { LatencyRecorder, type LatencySummary } from './latency-recorder.js';
import { watchLoopDelay, type LoopDelaySummary } from './loop-delay.js';

export interface ConcurrentResult {
  workers: number;
  ops: number;
  seconds: number;
  opsPerSec: number;
  latency: LatencySummary;
  /** event-loop delay while the loop ran */
  loopDelay: LoopDelaySummary;
}

/**
 * `workers` async loops, each awaiting `op(worker, n)` back to back until `durationMs`
 * passes or `opsMax` operations are done: a fixed number of operations outstanding.
 */
export async function concurrentLoop(
  workers: number,
  durationMs: number,
  op: (worker: number, n: number) => Promise<unknown>,
  opsMax = Number.MAX_SAFE_INTEGER,
): Promise<ConcurrentResult> {
  const rec = new LatencyRecorder(1 << 20);
  const loopDelay = watchLoopDelay();
  let ops = 0;
  let started = 0;
  const t0 = performance.now();
  const endAt = t0 + durationMs;
  const worker = async (w: number): Promise<void> => {
    for (let n = 0; performance.now() < endAt && started < opsMax; n++) {
      started++;
      const t = performance.now();
      await op(w, n);
      rec.record(performance.now() - t);
      ops++;
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  const seconds = (performance.now() - t0) / 1000;
  return { workers, ops, seconds, opsPerSec: ops / seconds, latency: rec.summary(), loopDelay: loopDelay() };
}

/** Runs `op(i)` for every i below `count`, `depth` at a time; resolves the seconds it took. */
export async function forEachConcurrent(count: number, depth: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < count) await op(next++);
  };
  await Promise.all(Array.from({ length: Math.min(depth, count) }, worker));
  return (performance.now() - t0) / 1000;
}
