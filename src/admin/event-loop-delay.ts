import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Sampling period of the event-loop delay monitor: delays shorter than this are not seen. */
export const EVENT_LOOP_RESOLUTION_MS = 10;

/**
 * Node records the time between two ticks of its sampling timer (an idle loop shows about
 * EVENT_LOOP_RESOLUTION_MS, not 0): the delay is what exceeds the period.
 */
function delayMs(ns: number): number {
  return Math.max(0, Math.round(ns / 1e3) / 1e3 - EVENT_LOOP_RESOLUTION_MS); // whole microseconds
}

export interface LoopDelayWindow {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Event-loop delay (perf_hooks.monitorEventLoopDelay) over windows: each take() answers for
 * the time since the previous one and starts a new window, so a chart point or a scrape
 * shows the stalls of its own interval rather than the worst since start.
 */
export class EventLoopDelay {
  private readonly h: IntervalHistogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });

  constructor() {
    this.h.enable();
  }

  take(): LoopDelayWindow {
    const h = this.h;
    // After reset() Node reports a percentile above zero with no samples: no samples, no delay.
    const w = h.count === 0 ? { p50Ms: 0, p99Ms: 0, maxMs: 0 } : { p50Ms: delayMs(h.percentile(50)), p99Ms: delayMs(h.percentile(99)), maxMs: delayMs(h.max) };
    h.reset();
    return w;
  }

  stop(): void {
    this.h.disable();
  }
}
