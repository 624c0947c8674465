// readBackImages (src/db/image-readback.ts) on a file built here: every image the index
// names must check out where the index says (live head, extent, lsn, crc, its session id);
// adjacent extents are read together, and each mismatch names its session and offset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DB_BLOCK_BYTES } from '../../src/format/constants.js';
import { encodeImage, imageBytes } from '../../src/db/image-codec.js';
import { readBackImages } from '../../src/db/image-readback.js';
import { SessionIndex } from '../../src/db/session-index.js';
import type { DbState } from '../../src/db/db-state.js';
import { encodePut } from '../../src/session/session-encoder.js';
import { makeState } from '../../src/session/session-state.js';

const SALT = 0x5eed;

/** A file of `blocks` blocks with the image of each session written at its block, and an index of them. */
function fileOf(blocks: number, images: Array<{ id: string; block: number; lsn: number }>): { file: Uint8Array; index: SessionIndex } {
  const file = new Uint8Array(blocks * DB_BLOCK_BYTES);
  const index = new SessionIndex();
  for (const { id, block, lsn } of images) {
    const data = encodePut(makeState(id, 1, 0, 1, 1, 0, 0, 'o', '"v"\u0001"x"'));
    const { buffers, blocks: extent } = encodeImage(SALT, lsn, data);
    let at = block * DB_BLOCK_BYTES;
    for (const b of buffers) {
      file.set(b, at);
      at += b.byteLength;
    }
    index.set(id, { startBlock: block, extentBlocks: extent, lsn, imageBytes: imageBytes(data.byteLength) });
  }
  return { file, index };
}

function stateOf(file: Uint8Array, index: SessionIndex, reads: Array<[number, number]>): DbState {
  // Into the caller's buffer, reused between reads: stale bytes past what a read fills must not pass.
  const readInto = (out: Uint8Array, position: number, length: number): Promise<void> => {
    reads.push([position, length]);
    out.fill(0xee);
    out.set(file.subarray(position, position + length));
    return Promise.resolve();
  };
  // No readIntoSync of its own: every read goes through readInto.
  return { index, readInto, readIntoSync: () => false, path: '/store/sessions.db', salt: SALT } as unknown as DbState;
}

test('images that check out: none reported, adjacent extents read in one read', async () => {
  const { file, index } = fileOf(20, [
    { id: 'c', block: 12, lsn: 9 },
    { id: 'a', block: 2, lsn: 7 },
    { id: 'b', block: 3, lsn: 8 },
  ]);
  const reads: Array<[number, number]> = [];
  assert.deepEqual(await readBackImages(stateOf(file, index, reads), ['c', 'a', 'b', 'absent']), []);
  assert.deepEqual(reads, [
    [2 * DB_BLOCK_BYTES, 2 * DB_BLOCK_BYTES],
    [12 * DB_BLOCK_BYTES, DB_BLOCK_BYTES],
  ]);
});

test('each kind of mismatch is reported with its session, offset and what differs', async () => {
  const { file, index } = fileOf(20, [
    { id: 'a', block: 2, lsn: 7 },
    { id: 'b', block: 3, lsn: 8 },
    { id: 'c', block: 5, lsn: 9 },
    { id: 'd', block: 7, lsn: 10 },
    { id: 'e', block: 12, lsn: 3 },
  ]);
  // A misdirected write: the index says d is at block 3, where b's image (good crc) is.
  index.set('d', { startBlock: 3, extentBlocks: 1, lsn: 8, imageBytes: index.imageBytesAt(index.slotOf('b')) });
  // A stale lsn, and a damaged payload byte.
  index.set('a', { startBlock: 2, extentBlocks: 1, lsn: 6, imageBytes: index.imageBytesAt(index.slotOf('a')) });
  file[5 * DB_BLOCK_BYTES + 60] = file[5 * DB_BLOCK_BYTES + 60]! ^ 1;
  // An image the index says is longer than its extent: not what was written.
  index.set('e', { startBlock: 12, extentBlocks: 1, lsn: 3, imageBytes: 2 * DB_BLOCK_BYTES });
  const bad = await readBackImages(stateOf(file, index, []), ['a', 'b', 'c', 'd', 'e']);
  const byId = new Map(bad.map((m) => [m.id, m]));
  assert.deepEqual([...byId.keys()].sort(), ['a', 'c', 'd', 'e']);
  assert.match(byId.get('a')!.detail, /head says 1 blocks at lsn 7, written 1 at lsn 6/);
  assert.equal(byId.get('a')!.offset, 2 * DB_BLOCK_BYTES);
  assert.equal(byId.get('c')!.detail, 'crc mismatch');
  assert.equal(byId.get('d')!.detail, 'payload id differs');
  assert.equal(byId.get('d')!.offset, 3 * DB_BLOCK_BYTES);
  assert.equal(byId.get('e')!.detail, 'crc mismatch');
  assert.equal(byId.get('c')!.file, '/store/sessions.db');
});

test("the batch just written: its slots are used while the index is unchanged, looked up again once it changed", async () => {
  const { file, index } = fileOf(20, [
    { id: 'a', block: 2, lsn: 7 },
    { id: 'b', block: 3, lsn: 8 },
  ]);
  let lookups = 0;
  const slotOf = index.slotOf.bind(index);
  index.slotOf = (id: string) => {
    lookups++;
    return slotOf(id);
  };
  const st = stateOf(file, index, []);
  const puts = [{ id: 'a' }, { id: 'b' }];
  st.lastBatch = { puts, slots: Int32Array.of(slotOf('a'), slotOf('b')), changes: index.changes };
  assert.deepEqual(await readBackImages(st, ['a', 'b']), []);
  assert.equal(lookups, 0, 'no look-up for the batch just written');
  assert.equal(st.lastBatch, undefined, 'dropped once read back');
  // Slots that are no longer right: a change to the index since, so they are not used.
  st.lastBatch = { puts, slots: Int32Array.of(slotOf('b'), slotOf('a')), changes: index.changes - 1 };
  assert.deepEqual(await readBackImages(st, ['a', 'b']), []);
  assert.equal(lookups, 2);
  // Other ids than the batch's: looked up.
  st.lastBatch = { puts, slots: Int32Array.of(slotOf('b'), slotOf('a')), changes: index.changes };
  assert.deepEqual(await readBackImages(st, ['b']), []);
  assert.equal(lookups, 3);
});
