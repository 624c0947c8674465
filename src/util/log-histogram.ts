/**
 * A log-linear histogram of non-negative integers, in the manner of HdrHistogram: each
 * power of two is split into SUB_BUCKETS equal buckets, so every value lands in a bucket at
 * most 1/SUB_BUCKETS (6.25%) wider than itself. Recording is a few integer operations on a
 * preallocated array (no allocation, no sorting), cheap enough to stay on in production;
 * percentiles walk the fixed bucket array. Values are clamped to 2^32 - 1.
 *
 * Bucket i < SUB_BUCKETS holds exactly the value i. Above, a value v with highest set bit e
 * goes to bucket (e - SUB_BITS + 1) * SUB_BUCKETS + (the SUB_BITS bits of v below bit e).
 */

export const SUB_BITS = 4;
export const SUB_BUCKETS = 1 << SUB_BITS;
/** Largest value kept as is; larger ones are clamped to it. */
export const LOG_HISTOGRAM_VALUE_MAX = 0xffff_ffff;
export const LOG_HISTOGRAM_BUCKETS = (32 - SUB_BITS + 1) * SUB_BUCKETS;

/** Index of the bucket holding `v` (a non-negative integer at most LOG_HISTOGRAM_VALUE_MAX). */
export function bucketOf(v: number): number {
  if (v < SUB_BUCKETS) return v;
  const e = 31 - Math.clz32(v);
  return (e - SUB_BITS + 1) * SUB_BUCKETS + ((v >>> (e - SUB_BITS)) & (SUB_BUCKETS - 1));
}

/** Smallest value of bucket `i`. */
export function bucketLow(i: number): number {
  if (i < SUB_BUCKETS) return i;
  const e = Math.floor(i / SUB_BUCKETS) + SUB_BITS - 1;
  return (SUB_BUCKETS + (i % SUB_BUCKETS)) * 2 ** (e - SUB_BITS);
}

/** Largest value of bucket `i`. */
export function bucketHigh(i: number): number {
  return i === LOG_HISTOGRAM_BUCKETS - 1 ? LOG_HISTOGRAM_VALUE_MAX : bucketLow(i + 1) - 1;
}

export interface HistogramSummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * The value at quantile `q` of the values counted in `counts` (nearest rank): the largest
 * value of the bucket holding that rank, but never above `max`. 0 when `total` is 0.
 */
export function percentileOf(counts: ArrayLike<number>, total: number, q: number, max: number): number {
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= rank) return Math.min(bucketHigh(i), max);
  }
  return max;
}

export class LogHistogram {
  /** Float64, not Uint32: exact counts up to 2^53, no wrap-around in a long-running server. */
  readonly counts = new Float64Array(LOG_HISTOGRAM_BUCKETS);
  count = 0;
  sum = 0;
  max = 0;

  /** Records one value; fractions are dropped, negatives count as 0. */
  add(value: number): void {
    const v = value >= LOG_HISTOGRAM_VALUE_MAX ? LOG_HISTOGRAM_VALUE_MAX : value > 0 ? Math.floor(value) : 0;
    this.counts[bucketOf(v)]!++;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  percentile(q: number): number {
    return percentileOf(this.counts, this.count, q, this.max);
  }

  /** How many values are at most `limit`; exact when `limit` is a bucket's high edge. */
  countAtMost(limit: number): number {
    let n = 0;
    for (let i = 0; i < LOG_HISTOGRAM_BUCKETS && bucketHigh(i) <= limit; i++) n += this.counts[i]!;
    return n;
  }

  /** Percentiles and mean, each divided by `scale` (1000 turns microseconds into milliseconds). */
  summary(scale = 1): HistogramSummary {
    const n = this.count;
    return {
      count: n,
      p50: this.percentile(0.5) / scale,
      p90: this.percentile(0.9) / scale,
      p99: this.percentile(0.99) / scale,
      max: this.max / scale,
      mean: n === 0 ? 0 : this.sum / n / scale,
    };
  }
}
