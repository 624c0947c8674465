// Unit and property tests of the latency sample ring (src/util/latency-ring.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LatencyRing } from '../../src/util/latency-ring.js';
import { Prng } from '../../src/util/prng.js';

/** Nearest-rank percentile, computed the slow way. */
function nearestRank(values: readonly number[], pct: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((pct * sorted.length) / 100));
  return sorted[rank - 1]!;
}

function shuffled(n: number, seed: number): number[] {
  const prng = new Prng(seed);
  const a = Array.from({ length: n }, (_, i) => i + 1);
  for (let i = a.length - 1; i > 0; i--) {
    const j = prng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

describe('LatencyRing', () => {
  it('summarises no samples as zeros', () => {
    assert.deepEqual(new LatencyRing().summary(), { samples: 0, p50: 0, p90: 0, p99: 0, max: 0 });
  });

  it('gives nearest-rank percentiles of 1..100 added in any order', () => {
    const r = new LatencyRing(1024);
    for (const v of shuffled(100, 42)) r.add(v);
    assert.deepEqual(r.summary(), { samples: 100, p50: 50, p90: 90, p99: 99, max: 100 });
  });

  it('gives nearest-rank percentiles of 1..10 and of a single sample', () => {
    const r = new LatencyRing(16);
    for (const v of shuffled(10, 7)) r.add(v);
    assert.deepEqual(r.summary(), { samples: 10, p50: 5, p90: 9, p99: 10, max: 10 });
    const one = new LatencyRing(16);
    one.add(3.5);
    assert.deepEqual(one.summary(), { samples: 1, p50: 3.5, p90: 3.5, p99: 3.5, max: 3.5 });
  });

  it('sorts samples as numbers, not as text', () => {
    const r = new LatencyRing(8);
    for (const v of [10, 9, 100, 2, 0.5]) r.add(v);
    const s = r.summary();
    assert.equal(s.p50, 9);
    assert.equal(s.max, 100);
  });

  it('holds only the last `capacity` samples: percentiles forget older ones', () => {
    const r = new LatencyRing(4);
    for (let v = 1; v <= 10; v++) r.add(v * 100);
    const s = r.summary();
    assert.equal(s.max, 1000);
    assert.equal(s.p50, 800, 'percentiles over 700, 800, 900, 1000');
    assert.equal(s.samples, 10, 'samples counts every sample ever added');
    assert.equal(r.total, 10);
    // A fall in latency shows once the ring has turned over.
    for (let i = 0; i < 4; i++) r.add(1);
    assert.deepEqual(r.summary(), { samples: 14, p50: 1, p90: 1, p99: 1, max: 1 });
  });

  it('matches nearest-rank percentiles of the last `capacity` samples (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.integer({ min: 0, max: 1e9 }).map((us) => us / 1000), { minLength: 1, maxLength: 300 }),
        (capacity, values) => {
          const r = new LatencyRing(capacity);
          for (const v of values) r.add(v);
          const held = values.slice(-capacity);
          const s = r.summary();
          assert.equal(s.samples, values.length);
          assert.equal(s.p50, nearestRank(held, 50));
          assert.equal(s.p90, nearestRank(held, 90));
          assert.equal(s.p99, nearestRank(held, 99));
          assert.equal(s.max, Math.max(...held));
        },
      ),
    );
  });
});
