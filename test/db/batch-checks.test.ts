// The checks a database batch, an image and the extent allocator make before any I/O
// (batch-writer.ts checkBatch, image-codec.ts encodeImage, extent-allocator.ts): each broken
// invariant is still an AssertionError naming what broke, now that the messages are built
// only when a check fails (they ran once per image of every flush).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AssertionError } from '../../src/assert.js';
import { encodePut } from '../../src/session/session-encoder.js';
import { makeState } from '../../src/session/session-state.js';
import { encodeImage, IMAGE_DATA_BYTES_MAX } from '../../src/db/image-codec.js';
import { ExtentAllocator, FIRST_DATA_BLOCK } from '../../src/db/extent-allocator.js';
import { SessionIndex } from '../../src/db/session-index.js';
import { newSim, openCollect } from './db-test-helpers.js';

const payload = (id: string): Buffer => encodePut(makeState(id, 1, 0, 1, 1, 0, 0, 'o', '"v"\u0001"x"'));

function broken(pattern: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof AssertionError, `got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  };
}

test('a malformed batch fails its check, with what broke, before any I/O', async () => {
  const fs = await newSim();
  const { db } = await openCollect(fs);
  const put = (id: string, lsn: number, data = payload(id)) => ({ id, lsn, data });
  const cases: Array<[string, Parameters<typeof db.writeBatch>[0], RegExp]> = [
    ['an invalid id', { puts: [put('', 1, payload('a'))], deletes: [], appliedLsn: 1 }, /batch put has an invalid id ""/],
    ['an id twice', { puts: [put('a', 1), put('a', 2)], deletes: [], appliedLsn: 2 }, /batch puts a twice/],
    ['an unsafe lsn', { puts: [put('a', 2 ** 53)], deletes: [], appliedLsn: 1 }, /put a: lsn 9007199254740992 is not a safe non-negative integer/],
    ['a negative lsn', { puts: [put('a', -1)], deletes: [], appliedLsn: 1 }, /put a: lsn -1 is not a safe non-negative integer/],
    ['a payload of another id', { puts: [put('a', 1, payload('b'))], deletes: [], appliedLsn: 1 }, /put a: payload does not start with its id/],
    ['a put and a delete of one id', { puts: [put('a', 1)], deletes: ['a'], appliedLsn: 1 }, /batch both puts and deletes a/],
  ];
  for (const [what, batch, pattern] of cases) await assert.rejects(db.writeBatch(batch), broken(pattern), what);
  assert.equal(db.has('a'), false, 'nothing was written');
  await db.writeBatch({ puts: [put('a', 5)], deletes: [], appliedLsn: 1 });
  await assert.rejects(db.writeBatch({ puts: [put('a', 4)], deletes: [], appliedLsn: 1 }), broken(/put a: lsn 4 below its image's 5/));
  await db.writeBatch({ puts: [put('a', 5)], deletes: [], appliedLsn: 1 }); // the same lsn again is fine
  // 'a' is in the index now: found twice by its slot, not by a Set of new ids.
  await db.writeBatch({ puts: [put('b', 6), put('c', 6)], deletes: [], appliedLsn: 1 });
  await assert.rejects(db.writeBatch({ puts: [put('b', 7), put('a', 6), put('c', 7), put('a', 7)], deletes: [], appliedLsn: 1 }), broken(/batch puts a twice/));
  await assert.rejects(db.writeBatch({ puts: [put('b', 7), put('a', 6), put('c', 7)], deletes: ['x', 'a'], appliedLsn: 1 }), broken(/batch both puts and deletes a/));
  await assert.rejects(db.writeBatch({ puts: [put('b', 7), put('d', 6)], deletes: ['d'], appliedLsn: 1 }), broken(/batch both puts and deletes d/));
  await db.writeBatch({ puts: [put('b', 7), put('a', 6)], deletes: ['c', 'x'], appliedLsn: 1 });
  assert.deepEqual([db.has('a'), db.has('b'), db.has('c')], [true, true, false]);
  db.checkInvariants();
  await db.close();
});

test('an image with an unsafe lsn or too much data fails its check', () => {
  assert.throws(() => encodeImage(0, -1, payload('a')), broken(/image lsn must be a safe integer, got -1/));
  assert.throws(() => encodeImage(0, 1.5, payload('a')), broken(/image lsn must be a safe integer, got 1.5/));
  const tooBig = { byteLength: IMAGE_DATA_BYTES_MAX + 1 } as unknown as Uint8Array;
  assert.throws(() => encodeImage(0, 1, tooBig), broken(/image data too large/));
  assert.doesNotThrow(() => encodeImage(0, 0, payload('a')));
});

test('the allocator refuses a bad size, a release outside the file or over a free extent', () => {
  const a = new ExtentAllocator();
  assert.throws(() => a.allocate(0), broken(/bad allocation size 0/));
  assert.throws(() => a.allocate(1.5), broken(/bad allocation size 1.5/));
  const x = a.allocate(4);
  const y = a.allocate(4);
  a.allocate(2);
  assert.throws(() => a.release(x, 0), broken(/bad release size 0/));
  assert.throws(() => a.release(FIRST_DATA_BLOCK - 1, 1), broken(/outside the file/));
  assert.throws(() => a.release(x, 100), broken(/outside the file/));
  a.release(y, 4);
  assert.throws(() => a.release(y + 1, 1), broken(/release \[\d+, \+1\) overlaps a free extent/), 'inside a free extent');
  assert.throws(() => a.release(x, 5), broken(/overlaps a free extent/), 'running into the next free extent');
  a.release(x, 4);
  a.checkInvariants();
});

test('the index refuses an entry of no blocks or no bytes', () => {
  const index = new SessionIndex();
  assert.throws(() => index.set('a', { startBlock: 2, extentBlocks: 0, lsn: 1, imageBytes: 1 }), broken(/bad index entry at slot 0/));
  assert.throws(() => index.set('b', { startBlock: 2, extentBlocks: 1, lsn: 1, imageBytes: 0 }), broken(/bad index entry/));
  index.set('c', { startBlock: 2, extentBlocks: 1, lsn: 1, imageBytes: 1 });
  assert.equal(index.lsnAt(index.slotOf('c')), 1);
});
