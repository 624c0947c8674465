import type { Metric } from 'prom-client';
import { LogHistogram, bucketHigh, bucketOf } from '../util/log-histogram.js';

/**
 * A Prometheus histogram read from the engine's LogHistograms when scraped, instead of a
 * second prom-client Histogram observed on every operation: the hot path records once, in
 * O(1), and a scrape walks the fixed buckets. prom-client's Registry renders any object
 * with name, help, type and get(); this is one.
 *
 * Each bound is `le` (the label, in the metric's unit) and `atMost` (the largest recorded
 * integer it covers). `atMost` is a LogHistogram bucket's high edge, so counts are exact.
 */

export interface PromBound {
  le: number;
  atMost: number;
}

export interface HistogramSeries {
  labels: Record<string, string>;
  histogram: LogHistogram;
}

/**
 * Latency bounds: powers of two microseconds from 16 us to 2^25 us (33.6 s), in seconds.
 * Values are recorded as whole microseconds (the fraction dropped), so "at most 2^k - 1"
 * means "less than 2^k us".
 */
export const LATENCY_BOUNDS: readonly PromBound[] = Array.from({ length: 22 }, (_, i) => {
  const us = 2 ** (i + 4);
  return { le: us / 1e6, atMost: us - 1 };
});

/** Count bounds near powers of two, each the high edge of the bucket holding 2^k (1, 2, 4, 8, 16, 33, 67, ...). */
export const COUNT_BOUNDS: readonly PromBound[] = Array.from({ length: 13 }, (_, k) => {
  const high = bucketHigh(bucketOf(2 ** k));
  return { le: high, atMost: high };
});

export class LogHistogramMetric {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly PromBound[],
    /** Recorded units per metric unit: 1e6 for microseconds reported as seconds. */
    private readonly scale: number,
    private readonly series: () => readonly HistogramSeries[],
  ) {}

  get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> }> {
    const values = [];
    for (const { labels, histogram: h } of this.series()) {
      for (const b of this.bounds) values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: b.le }, value: h.countAtMost(b.atMost) });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
      values.push({ metricName: `${this.name}_sum`, labels, value: h.sum / this.scale });
      values.push({ metricName: `${this.name}_count`, labels, value: h.count });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  /** For Registry.registerMetric, whose type lists only prom-client's own classes. */
  asMetric(): Metric {
    return this as unknown as Metric;
  }
}
