import { Prng } from '../../src/util/prng.js';

/** p50/p99 and friends of one measured phase, in milliseconds. */
export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Keeps at most `samplesMax` latencies (a seeded reservoir beyond that), so a phase that runs
 * millions of operations stays bounded in memory while its percentiles stay unbiased.
 */
export class LatencyRecorder {
  private readonly samples: Float64Array;
  private readonly prng: Prng;
  private seen = 0;
  private sumMs = 0;
  private maxMs = 0;

  constructor(samplesMax = 1 << 20, seed = 1) {
    this.samples = new Float64Array(samplesMax);
    this.prng = new Prng(seed);
  }

  record(ms: number): void {
    this.sumMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
    const cap = this.samples.length;
    if (this.seen < cap) {
      this.samples[this.seen] = ms;
    } else {
      const j = this.prng.int(this.seen + 1);
      if (j < cap) this.samples[j] = ms;
    }
    this.seen++;
  }

  get count(): number {
    return this.seen;
  }

  summary(): LatencySummary {
    const n = Math.min(this.seen, this.samples.length);
    const sorted = this.samples.slice(0, n).sort();
    return {
      count: this.seen,
      meanMs: this.seen === 0 ? 0 : this.sumMs / this.seen,
      p50Ms: percentile(sorted, 0.5),
      p90Ms: percentile(sorted, 0.9),
      p99Ms: percentile(sorted, 0.99),
      maxMs: this.maxMs,
    };
  }
}

/** Nearest-rank percentile of an ascending array; 0 when empty. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}
