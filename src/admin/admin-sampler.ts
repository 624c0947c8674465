import type { SessionEngine } from '../engine/session-engine.js';
import { LOG_HISTOGRAM_BUCKETS, percentileOf } from '../util/log-histogram.js';
import { EventLoopDelay } from './event-loop-delay.js';
import { REQUEST_KINDS } from '../engine/operation-latency.js';
import { SeriesRing } from './series-ring.js';

export const SERIES_NAMES = ['t', 'sessions', 'opsPerSec', 'fsyncP50Ms', 'fsyncP99Ms', 'loopDelayP99Ms', 'loopDelayMaxMs'] as const;
export type SeriesName = (typeof SERIES_NAMES)[number];
export type Series = Record<SeriesName, number[]>;

/**
 * The admin page's charts: every `intervalMs` one point (sessions live, operations per
 * second, fsync p50/p99 and event-loop delay over that interval) into a ring of
 * `pointsMax` points (720 at 5 s: the last hour). `t` is the engine clock in seconds.
 * fsync percentiles come from the difference of the fsync histogram between two points.
 */
export class AdminSampler {
  readonly ring: SeriesRing<SeriesName>;
  private readonly loopDelay = new EventLoopDelay();
  private readonly prevFsync = new Float64Array(LOG_HISTOGRAM_BUCKETS);
  private readonly window = new Float64Array(LOG_HISTOGRAM_BUCKETS);
  private prevFsyncCount = 0;
  private prevOps = 0;
  private prevAtMs = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;

  constructor(
    private readonly engine: SessionEngine,
    intervalMs: number,
    pointsMax: number,
  ) {
    this.ring = new SeriesRing(SERIES_NAMES, pointsMax);
    this.prevOps = this.opsTotal();
    this.prevFsync.set(engine.latency.us.fsync.counts);
    this.prevFsyncCount = engine.latency.us.fsync.count;
    this.timer = setInterval(() => void this.sample(), intervalMs);
    this.timer.unref();
  }

  private opsTotal(): number {
    let n = 0;
    for (const k of REQUEST_KINDS) n += this.engine.latency.count(k);
    return n;
  }

  /** Takes one point now; skipped while the previous one is still being taken. */
  async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const st = await this.engine.stats().catch(() => undefined); // closed under us: no point
      if (st === undefined) return;
      const nowMs = performance.now();
      const ops = this.opsTotal();
      const fsync = this.engine.latency.us.fsync;
      for (let i = 0; i < LOG_HISTOGRAM_BUCKETS; i++) this.window[i] = fsync.counts[i]! - this.prevFsync[i]!;
      const n = fsync.count - this.prevFsyncCount;
      const loop = this.loopDelay.take();
      this.ring.push({
        t: st.atMs / 1000,
        sessions: st.sessions.count,
        opsPerSec: nowMs > this.prevAtMs ? ((ops - this.prevOps) * 1000) / (nowMs - this.prevAtMs) : 0,
        fsyncP50Ms: percentileOf(this.window, n, 0.5, fsync.max) / 1000,
        fsyncP99Ms: percentileOf(this.window, n, 0.99, fsync.max) / 1000,
        loopDelayP99Ms: loop.p99Ms,
        loopDelayMaxMs: loop.maxMs,
      });
      this.prevFsync.set(fsync.counts);
      this.prevFsyncCount = fsync.count;
      this.prevOps = ops;
      this.prevAtMs = nowMs;
    } finally {
      this.sampling = false;
    }
  }

  series(): Series {
    return this.ring.toColumns();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.loopDelay.stop();
  }
}
