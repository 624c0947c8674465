/** The admin page's chart sampler and its bounded ring (kind: unit; points taken by hand, not by timer). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { AdminSampler } from '../../src/admin/admin-sampler.js';
import { SeriesRing } from '../../src/admin/series-ring.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';

const ID = 'AAAAAAAAAAAAAAAAAAAAAAAA';
/** Long enough that the sampler's own timer never fires during a test. */
const NEVER_MS = 3_600_000;

describe('SeriesRing', () => {
  it('holds the last `capacity` points, oldest first, whatever was pushed (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.double({ noNaN: true }), { maxLength: 80 }), (capacity, xs) => {
        const r = new SeriesRing(['a', 'b'] as const, capacity);
        for (const x of xs) r.push({ a: x, b: -x });
        const c = r.toColumns();
        assert.deepEqual(c.a, xs.slice(-capacity));
        assert.deepEqual(c.b, xs.slice(-capacity).map((x) => -x));
        assert.equal(r.size, Math.min(capacity, xs.length));
      }),
    );
  });
});

describe('AdminSampler', () => {
  it('keeps at most pointsMax points, stamped with the engine clock in seconds', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const e = await SessionEngine.open({ dir: '/s', fs: new SimFileSystem(), clock, flushIntervalMs: NEVER_MS, expiryIntervalMs: NEVER_MS });
    const s = new AdminSampler(e, NEVER_MS, 4);
    try {
      for (let i = 0; i < 6; i++) {
        await s.sample();
        clock.advance(5_000);
      }
      const series = s.series();
      assert.equal(series.t.length, 4);
      assert.deepEqual(series.t, [1_700_000_010, 1_700_000_015, 1_700_000_020, 1_700_000_025]);
      for (const col of Object.values(series)) assert.equal(col.length, 4);
    } finally {
      s.stop();
      await e.close();
    }
  });

  it('gives operations per second and fsync percentiles of its own interval only', async () => {
    const clock = new ManualClock();
    const e = await SessionEngine.open({ dir: '/s', fs: new SimFileSystem(), clock, flushIntervalMs: NEVER_MS, expiryIntervalMs: NEVER_MS });
    const s = new AdminSampler(e, NEVER_MS, 10);
    try {
      for (let i = 0; i < 10; i++) await e.save(`${ID}${i}`, { attributes: { n: String(i) } });
      await s.sample();
      await s.sample(); // an interval with no operation at all
      const series = s.series();
      assert.equal(series.sessions[0], 10);
      assert.ok(series.opsPerSec[0]! > 0, 'ten saves in the first interval');
      assert.equal(series.opsPerSec[1], 0);
      assert.ok(series.fsyncP99Ms[0]! >= series.fsyncP50Ms[0]!);
      assert.ok(series.fsyncP99Ms[0]! > 0 || e.latency.us.fsync.max === 0);
      assert.equal(series.fsyncP50Ms[1], 0, 'no fsync in the second interval');
      assert.equal(series.fsyncP99Ms[1], 0);
      for (const v of [...series.loopDelayP99Ms, ...series.loopDelayMaxMs]) assert.ok(v >= 0);

      // A slow interval, then a fast one: the second point forgets the first's fsyncs.
      for (let i = 0; i < 10; i++) e.latency.addMs('fsync', 50);
      await s.sample();
      for (let i = 0; i < 10; i++) e.latency.addMs('fsync', 0.1);
      await s.sample();
      const after = s.series();
      assert.ok(Math.abs(after.fsyncP99Ms[2]! - 50) <= 50 / 16, `slow interval p99 ${after.fsyncP99Ms[2]}`);
      assert.ok(Math.abs(after.fsyncP99Ms[3]! - 0.1) <= 0.1 / 16, `fast interval p99 ${after.fsyncP99Ms[3]}`);
    } finally {
      s.stop();
      await e.close();
    }
  });
});
