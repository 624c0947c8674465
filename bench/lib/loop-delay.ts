import { monitorEventLoopDelay } from 'node:perf_hooks';

/** Event-loop delay of one measured phase (perf_hooks.monitorEventLoopDelay), in ms beyond the sampling period. */
export interface LoopDelaySummary {
  /** Timer ticks seen; 0 means the loop never turned while watched (every figure is then the whole time). */
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The sampling period: short enough to see stalls of a few ms, cheap enough not to be one. */
export const BENCH_LOOP_RESOLUTION_MS = 1;

/** Starts watching the event loop; the returned function stops and reports the delays since. */
export function watchLoopDelay(): () => LoopDelaySummary {
  const h = monitorEventLoopDelay({ resolution: BENCH_LOOP_RESOLUTION_MS });
  h.enable();
  const t0 = performance.now();
  return () => {
    h.disable();
    // A loop blocked from start to end (a store that calls back synchronously) records no tick at all.
    if (h.count === 0) {
      const ms = performance.now() - t0;
      return { samples: 0, p50Ms: ms, p99Ms: ms, maxMs: ms };
    }
    // Node records the time between two ticks of its timer: the delay is what exceeds the period.
    const delay = (ns: number): number => Math.max(0, ns / 1e6 - BENCH_LOOP_RESOLUTION_MS);
    return { samples: h.count, p50Ms: delay(h.percentile(50)), p99Ms: delay(h.percentile(99)), maxMs: delay(h.max) };
  };
}
