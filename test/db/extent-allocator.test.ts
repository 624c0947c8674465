// Unit and property tests of the free list: first fit, coalescing, tail shrink, checked
// against a model (one boolean per block).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ExtentAllocator, FIRST_DATA_BLOCK } from '../../src/db/extent-allocator.js';
import { orderByStart } from '../../src/db/extent-order.js';

function freeList(a: ExtentAllocator): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  a.forEachFree((s, n) => out.push([s, n]));
  return out;
}

test('allocator: appends at the end while the free list is empty', () => {
  const a = new ExtentAllocator();
  assert.equal(a.allocate(3), 2);
  assert.equal(a.allocate(1), 5);
  assert.equal(a.endBlock, 6);
  a.checkInvariants();
});

test('allocator: first fit takes the lowest free extent that is big enough, splitting it', () => {
  const a = new ExtentAllocator(20);
  a.release(2, 2); // [2,4)
  a.release(6, 5); // [6,11)
  a.release(12, 3); // [12,15)
  assert.equal(a.allocate(3), 6);
  assert.deepEqual(freeList(a), [[2, 2], [9, 2], [12, 3]]);
  assert.equal(a.allocate(2), 2);
  assert.equal(a.allocate(4), 20, 'nothing fits: appended');
  a.checkInvariants();
});

test('allocator: releases coalesce with both neighbours', () => {
  const a = new ExtentAllocator(20);
  a.release(2, 2);
  a.release(6, 2);
  a.release(4, 2);
  assert.deepEqual(freeList(a), [[2, 6]]);
  assert.equal(a.freeBlocks, 6);
  a.checkInvariants();
});

test('allocator: trailing free blocks shrink the end, through coalesced extents', () => {
  const a = new ExtentAllocator(20);
  a.release(10, 5);
  a.release(2, 3);
  a.release(15, 5);
  assert.equal(a.endBlock, 10);
  assert.deepEqual(freeList(a), [[2, 3]]);
  a.release(5, 5);
  assert.equal(a.endBlock, FIRST_DATA_BLOCK);
  assert.equal(a.freeBlocks, 0);
  a.checkInvariants();
});

test('allocator: endAfterRelease predicts the end a release leaves', () => {
  const a = new ExtentAllocator(30);
  a.release(20, 5);
  assert.equal(a.endAfterRelease([{ start: 25, blocks: 5 }]), 20);
  assert.equal(a.endAfterRelease([{ start: 25, blocks: 5 }, { start: 10, blocks: 10 }]), 10);
  assert.equal(a.endAfterRelease([{ start: 10, blocks: 5 }]), 30);
});

test('allocator: endAfterRelease of many extents, in any order, is the end their releases leave', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 60 }), fc.array(fc.nat(), { maxLength: 60 }), fc.nat(), (sizes, picks, seed) => {
      const a = new ExtentAllocator();
      const live = sizes.map((n) => ({ start: a.allocate(n), blocks: n }));
      // Some extents freed already, then a shuffled set of the others released together.
      const freeNow = live.filter((_, i) => (seed >> i % 30) & 1);
      const rest = live.filter((e) => !freeNow.includes(e));
      for (const e of freeNow) a.release(e.start, e.blocks);
      const released = picks.map((p) => rest[p % Math.max(1, rest.length)]).filter((e, i, all): e is { start: number; blocks: number } => e !== undefined && all.indexOf(e) === i);
      const predicted = a.endAfterRelease(released);
      for (const e of released) a.release(e.start, e.blocks);
      assert.equal(predicted, a.endBlock);
    }),
    { numRuns: 300 },
  );
});

test('allocator: overlapping releases are assertion failures', () => {
  const a = new ExtentAllocator(20);
  a.release(5, 5);
  assert.throws(() => a.release(7, 1), /overlaps/);
  assert.throws(() => a.release(18, 5), /outside/);
});

test('allocator: random allocate/release sequences match a block model', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 8 }), fc.nat()), { maxLength: 200 }), (ops) => {
      const a = new ExtentAllocator();
      const live: Array<[number, number]> = [];
      for (const [alloc, blocks, pick] of ops) {
        if (alloc || live.length === 0) {
          const before = freeList(a);
          const fit = before.find(([, n]) => n >= blocks);
          const expected = fit ? fit[0] : a.endBlock;
          const start = a.allocate(blocks);
          assert.equal(start, expected, 'first fit');
          live.push([start, blocks]);
        } else {
          const [s, n] = live.splice(pick % live.length, 1)[0]!;
          const expectedEnd = a.endAfterRelease([{ start: s, blocks: n }]);
          a.release(s, n);
          assert.equal(a.endBlock, expectedEnd);
        }
        a.checkInvariants();
        // Live and free extents tile [FIRST_DATA_BLOCK, endBlock).
        const all = [...live, ...freeList(a)].sort((x, y) => x[0] - y[0]);
        let at = FIRST_DATA_BLOCK;
        for (const [s, n] of all) {
          assert.equal(s, at);
          at += n;
        }
        assert.equal(at, a.endBlock);
      }
    }),
    { numRuns: 300 },
  );
});

test('allocator: releaseMany of a batch leaves the free list, end and count that releasing each in any order leaves', () => {
  fc.assert(
    // Long enough that most batches take the merged pass (more than 16 extents).
    fc.property(fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 40, maxLength: 120 }), fc.array(fc.nat(), { minLength: 40, maxLength: 120 }), fc.nat(), (sizes, picks, seed) => {
      const one = new ExtentAllocator();
      const many = new ExtentAllocator();
      const live = sizes.map((n) => {
        const start = one.allocate(n);
        assert.equal(many.allocate(n), start);
        return { start, blocks: n };
      });
      const freeNow = live.filter((_, i) => (seed >> i % 30) & 1);
      for (const e of freeNow) {
        one.release(e.start, e.blocks);
        many.release(e.start, e.blocks);
      }
      const rest = live.filter((e) => !freeNow.includes(e));
      // A shuffled batch (as a flush frees them: in put order), more than the one-by-one cut-off.
      const batch = picks.map((p) => rest[p % Math.max(1, rest.length)]).filter((e, i, all): e is { start: number; blocks: number } => e !== undefined && all.indexOf(e) === i);
      for (const e of batch) one.release(e.start, e.blocks);
      const starts = Float64Array.from(batch, (e) => e.start);
      many.releaseMany(starts, Uint32Array.from(batch, (e) => e.blocks), orderByStart(starts));
      many.checkInvariants();
      assert.deepEqual(freeList(many), freeList(one));
      assert.equal(many.endBlock, one.endBlock);
      assert.equal(many.freeBlocks, one.freeBlocks);
    }),
    { numRuns: 300 },
  );
});

test('allocator: releaseMany refuses what release refuses, one at a time or merged', () => {
  for (const count of [2, 40]) {
    // count extents of 2 blocks, then one more that stays allocated (nothing reaches the end).
    const batchOf = (a: ExtentAllocator): number[] => {
      const starts = Array.from({ length: count }, () => a.allocate(2));
      a.allocate(1);
      return starts;
    };
    const blocks = Array.from({ length: count }, () => 2);
    const a = new ExtentAllocator();
    const starts = batchOf(a);
    a.release(starts[1]!, 2);
    assert.throws(() => a.releaseMany(starts, blocks, orderByStart(starts)), /overlaps/, `${count}: an extent already free`);
    const b = new ExtentAllocator();
    const twice = batchOf(b);
    twice[count - 1] = twice[0]!; // the same extent twice in one batch
    assert.throws(() => b.releaseMany(twice, blocks, orderByStart(twice)), /overlaps/, `${count}: released twice`);
    const c = new ExtentAllocator();
    const past = batchOf(c);
    past[0] = c.endBlock;
    assert.throws(() => c.releaseMany(past, blocks, orderByStart(past)), /outside/, `${count}: past the end`);
  }
});
