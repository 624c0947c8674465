import { EventLoopDelay, type LoopDelayWindow } from '../../src/admin/event-loop-delay.js';

/** Event-loop delay of one measured phase (perf_hooks.monitorEventLoopDelay), in ms beyond the sampling period. */
export type LoopDelaySummary = LoopDelayWindow;

/** The sampling period: short enough to see stalls of a few ms, cheap enough not to be one. */
export const BENCH_LOOP_RESOLUTION_MS = 1;

/** Starts watching the event loop; the returned function stops and reports the delays since. */
export function watchLoopDelay(): () => LoopDelaySummary {
  const d = new EventLoopDelay(BENCH_LOOP_RESOLUTION_MS);
  return () => {
    const w = d.take();
    d.stop();
    return w;
  };
}
