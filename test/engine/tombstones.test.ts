// Unit and property tests of the destroyed-ID memory (src/engine/tombstones.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tombstones } from '../../src/engine/tombstones.js';

const T0 = 1_700_000_000_000;

describe('Tombstones', () => {
  it('remembers an ID for exactly tombstoneMs', () => {
    const t = new Tombstones(1000, 10);
    t.add('a', T0);
    assert.equal(t.has('a', T0), true);
    assert.equal(t.has('a', T0 + 999), true);
    assert.equal(t.has('a', T0 + 1000), false);
    assert.equal(t.has('b', T0), false);
  });

  it('forgets an expired ID when asked about it', () => {
    const t = new Tombstones(1000, 10);
    t.add('a', T0);
    assert.equal(t.size, 1);
    assert.equal(t.has('a', T0 + 1000), false);
    assert.equal(t.size, 0);
    assert.equal(t.has('a', T0), false, 'an expired tombstone does not come back');
  });

  it('holds at most tombstonesMax IDs, forgetting the oldest first', () => {
    const t = new Tombstones(60_000, 3);
    for (let i = 0; i < 10; i++) t.add(`id${i}`, T0 + i);
    assert.equal(t.size, 3);
    for (let i = 0; i < 7; i++) assert.equal(t.has(`id${i}`, T0 + 10), false, `id${i} should be forgotten`);
    for (let i = 7; i < 10; i++) assert.equal(t.has(`id${i}`, T0 + 10), true, `id${i} should be remembered`);
  });

  it('adding an ID again renews its expiry and makes it the newest', () => {
    const t = new Tombstones(1000, 2);
    t.add('a', T0);
    t.add('b', T0 + 1);
    t.add('a', T0 + 500);
    assert.equal(t.size, 2);
    t.add('c', T0 + 600); // evicts b, now the oldest, not a
    assert.equal(t.has('b', T0 + 600), false);
    assert.equal(t.has('a', T0 + 1200), true, 'the renewed expiry applies');
    assert.equal(t.has('c', T0 + 1200), true);
  });

  it('remembers nothing when tombstoneMs or tombstonesMax is 0', () => {
    for (const [ms, max] of [[0, 10], [1000, 0], [0, 0]] as const) {
      const t = new Tombstones(ms, max);
      t.add('a', T0);
      assert.equal(t.size, 0);
      assert.equal(t.has('a', T0), false);
    }
  });

  it('sweep drops expired IDs oldest first, examining at most max', () => {
    const t = new Tombstones(100, 100);
    for (let i = 0; i < 10; i++) t.add(`id${i}`, T0 + i);
    // At T0+105, id0..id5 are expired (until = T0+100+i <= T0+105).
    t.sweep(T0 + 105, 2);
    assert.equal(t.size, 8, 'only two examined');
    t.sweep(T0 + 105, 1000);
    assert.equal(t.size, 4, 'stops at the first unexpired');
    for (let i = 6; i < 10; i++) assert.equal(t.has(`id${i}`, T0 + 105), true);
    t.sweep(T0 + 1000, 1000);
    assert.equal(t.size, 0);
  });

  it('sweep stops at the first unexpired ID, so its cost is the number expired', () => {
    const t = new Tombstones(100, 100);
    t.add('late', T0 + 50);
    t.add('early', T0); // the clock went back: inserted after, expires before
    t.sweep(T0 + 120, 1000);
    assert.equal(t.size, 2, 'sweep examined past an unexpired tombstone');
    assert.equal(t.has('early', T0 + 120), false, 'has() still ignores the expired one');
    assert.equal(t.has('late', T0 + 120), true);
  });

  it('sweep with max 0 changes nothing', () => {
    const t = new Tombstones(100, 100);
    t.add('a', T0);
    t.sweep(T0 + 1000, 0);
    assert.equal(t.size, 1);
  });

  it('never exceeds tombstonesMax and remembers the newest unexpired IDs (property)', () => {
    const arbOps = fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 50 })), { maxLength: 200 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 300 }), arbOps, (max, ms, ops) => {
        const t = new Tombstones(ms, max);
        let now = T0;
        const added: Array<{ id: string; at: number }> = [];
        for (const [idNum, dt] of ops) {
          now += dt;
          const id = `id${idNum}`;
          t.add(id, now);
          added.push({ id, at: now });
          assert.ok(t.size <= max);
        }
        // The last `max` distinct IDs added are remembered until their own expiry.
        const newest = new Map<string, number>();
        for (let i = added.length - 1; i >= 0 && newest.size < max; i--) {
          const a = added[i]!;
          if (!newest.has(a.id)) newest.set(a.id, a.at);
        }
        for (const [id, at] of newest) assert.equal(t.has(id, now), at + ms > now, id);
      }),
    );
  });

  it('lists as durable only confirmed or restored tombstones still younger than tombstoneMs; each confirm counts a change', () => {
    const t = new Tombstones(1000, 10);
    t.restore('old', T0 - 2000, T0); // already expired: not kept
    t.restore('r', T0 - 500, T0);
    t.add('a', T0);
    t.add('b', T0 + 1);
    assert.equal(t.changes, 0);
    assert.equal(t.has('a', T0), true, 'a pending tombstone refuses saves at once');
    assert.deepEqual([...t.durable(T0 + 1)], [['r', T0 - 500]]);
    t.confirm('b');
    t.confirm('b'); // once only
    assert.equal(t.changes, 1);
    assert.deepEqual([...t.durable(T0 + 1)], [['r', T0 - 500], ['b', T0 + 1]]);
    assert.deepEqual([...t.durable(T0 + 500)], [['b', T0 + 1]], 'r expired');
    assert.equal(t.has('old', T0), false);
  });

  it('keeps nothing when disabled (tombstoneMs or tombstonesMax 0)', () => {
    for (const t of [new Tombstones(0, 10), new Tombstones(1000, 0)]) {
      t.add('a', T0);
      t.restore('b', T0, T0);
      assert.equal(t.size, 0);
      assert.equal(t.enabled, false);
    }
  });
});
