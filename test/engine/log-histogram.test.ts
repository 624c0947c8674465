// Unit and property tests of the log-linear histogram behind the latency statistics
// (src/util/log-histogram.ts): bucket edges, and percentiles against a sorted-array oracle.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  LOG_HISTOGRAM_BUCKETS,
  LOG_HISTOGRAM_VALUE_MAX,
  LogHistogram,
  SUB_BUCKETS,
  bucketHigh,
  bucketLow,
  bucketOf,
} from '../../src/util/log-histogram.js';

/** Nearest-rank percentile, computed the slow way. */
function nearestRank(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

const values = fc.array(
  fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: LOG_HISTOGRAM_VALUE_MAX })),
  { minLength: 1, maxLength: 400 },
);

describe('LogHistogram buckets', () => {
  it('keeps values below SUB_BUCKETS exact, one bucket each', () => {
    for (let v = 0; v < SUB_BUCKETS; v++) {
      assert.equal(bucketOf(v), v);
      assert.equal(bucketLow(v), v);
      assert.equal(bucketHigh(v), v);
    }
  });

  it('tiles 0..2^32-1 with no gap and no overlap: each low edge is one past the previous high edge', () => {
    assert.equal(bucketLow(0), 0);
    for (let i = 1; i < LOG_HISTOGRAM_BUCKETS; i++) assert.equal(bucketLow(i), bucketHigh(i - 1) + 1, `bucket ${i}`);
    assert.equal(bucketHigh(LOG_HISTOGRAM_BUCKETS - 1), LOG_HISTOGRAM_VALUE_MAX);
  });

  it('puts both edges of every bucket in that bucket, and the values just outside in its neighbours', () => {
    for (let i = 0; i < LOG_HISTOGRAM_BUCKETS; i++) {
      assert.equal(bucketOf(bucketLow(i)), i, `low edge of ${i}`);
      assert.equal(bucketOf(bucketHigh(i)), i, `high edge of ${i}`);
      if (i > 0) assert.equal(bucketOf(bucketLow(i) - 1), i - 1);
      if (i < LOG_HISTOGRAM_BUCKETS - 1) assert.equal(bucketOf(bucketHigh(i) + 1), i + 1);
    }
  });

  it('makes every bucket at most 1/SUB_BUCKETS as wide as its low edge (6.25% relative error)', () => {
    for (let i = SUB_BUCKETS; i < LOG_HISTOGRAM_BUCKETS; i++) {
      assert.ok(bucketHigh(i) - bucketLow(i) + 1 <= bucketLow(i) / SUB_BUCKETS, `bucket ${i}`);
    }
  });

  it('starts a bucket at every power of two, so powers of two are exact Prometheus bucket bounds', () => {
    for (let k = 0; k < 32; k++) assert.equal(bucketLow(bucketOf(2 ** k)), 2 ** k);
  });
});

describe('LogHistogram percentiles', () => {
  it('summarises no values as zeros', () => {
    assert.deepEqual(new LogHistogram().summary(), { count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 });
  });

  it('is exact for small values: 1..10 gives the nearest-rank percentiles', () => {
    const h = new LogHistogram();
    for (const v of [7, 3, 10, 1, 9, 2, 8, 4, 6, 5]) h.add(v);
    assert.deepEqual(h.summary(), { count: 10, p50: 5, p90: 9, p99: 10, max: 10, mean: 5.5 });
  });

  it('clamps negatives to 0, drops fractions, and clamps huge values to the maximum', () => {
    const h = new LogHistogram();
    h.add(-5);
    h.add(2.9);
    h.add(1e12);
    assert.equal(h.count, 3);
    assert.equal(h.percentile(0.01), 0);
    assert.equal(h.percentile(0.5), 2);
    assert.equal(h.max, LOG_HISTOGRAM_VALUE_MAX);
  });

  it('gives the high edge of the bucket holding the oracle percentile, never above the max (property)', () => {
    fc.assert(
      fc.property(values, fc.double({ min: 0.001, max: 1, noNaN: true }), (vs, q) => {
        const h = new LogHistogram();
        for (const v of vs) h.add(v);
        const exact = nearestRank(vs, q);
        const got = h.percentile(q);
        assert.equal(got, Math.min(bucketHigh(bucketOf(exact)), Math.max(...vs)));
        assert.ok(got >= exact, 'never below the exact percentile');
        assert.ok(got <= exact + exact / SUB_BUCKETS, 'within 6.25% above it');
        assert.equal(h.max, Math.max(...vs));
        assert.equal(h.count, vs.length);
        assert.equal(h.sum, vs.reduce((a, b) => a + b, 0));
      }),
    );
  });

  it('counts values at most a bucket high edge exactly (property)', () => {
    fc.assert(
      fc.property(values, fc.integer({ min: 0, max: LOG_HISTOGRAM_BUCKETS - 1 }), (vs, i) => {
        const h = new LogHistogram();
        for (const v of vs) h.add(v);
        const limit = bucketHigh(i);
        assert.equal(h.countAtMost(limit), vs.filter((v) => v <= limit).length);
      }),
    );
  });
});
