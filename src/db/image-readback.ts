/**
 * Read-back of freshly written images (docs/durability.md "Corruption"): before a log may
 * be released, the database file's copy of its changes must be readable. Each image is
 * read from disk again and must check out exactly as written: live magic, its extent, its
 * lsn, the salted crc and the session id it belongs to. Adjacent extents (a batch's images
 * are usually allocated side by side) are read together, at most READBACK_READ_BYTES_MAX
 * bytes per read.
 */

import { DB_BLOCK_BYTES, IMAGE, IMAGE_HEAD_BYTES } from '../format/constants.js';
import { readU32, readU64 } from '../format/bytes.js';
import type { DbState } from './db-state.js';
import { orderByStart } from './extent-order.js';
import { imageCrcMatchesAt, payloadHasId, plausibleImageDataBytes } from './image-codec.js';

/** Largest single read of the read-back: bounds its buffer, not its total. */
export const READBACK_READ_BYTES_MAX = 1 << 20;

export interface ImageMismatch {
  id: string;
  file: string;
  /** Byte offset of the image in sessions.db. */
  offset: number;
  detail: string;
}

export async function readBackImages(st: DbState, ids: readonly string[]): Promise<ImageMismatch[]> {
  // The index slots of the ids that have an image, in file order; no object per image
  // (a flush reads back every image it wrote), and one read buffer for the call.
  const index = st.index;
  const slots: number[] = [];
  const starts: number[] = [];
  const idAt: string[] = [];
  for (const id of ids) {
    const slot = index.slotOf(id);
    if (slot < 0) continue;
    slots.push(slot);
    starts.push(index.startAt(slot));
    idAt.push(id);
  }
  const order = orderByStart(starts);
  const bad: ImageMismatch[] = [];
  let buf: Uint8Array | undefined;
  for (let i = 0; i < order.length; ) {
    // One run of adjacent extents, or a single extent bigger than the limit.
    const first = starts[order[i]!]!;
    let endBlock = first + index.extentBlocksAt(slots[order[i]!]!);
    let j = i + 1;
    for (; j < order.length; j++) {
      const slot = slots[order[j]!]!;
      const blocks = index.extentBlocksAt(slot);
      if (starts[order[j]!] !== endBlock || (endBlock + blocks - first) * DB_BLOCK_BYTES > READBACK_READ_BYTES_MAX) break;
      endBlock += blocks;
    }
    const base = first * DB_BLOCK_BYTES;
    const bytes = endBlock * DB_BLOCK_BYTES - base;
    const into = bytes <= READBACK_READ_BYTES_MAX ? (buf ??= new Uint8Array(READBACK_READ_BYTES_MAX)) : new Uint8Array(bytes);
    await st.readInto(into, base, bytes);
    const run = into.byteLength === bytes ? into : into.subarray(0, bytes);
    for (let k = i; k < j; k++) {
      const slot = slots[order[k]!]!;
      const id = idAt[order[k]!]!;
      const at = starts[order[k]!]! * DB_BLOCK_BYTES;
      const detail = checkImage(run, at - base, id, index.extentBlocksAt(slot), index.lsnAt(slot), index.imageBytesAt(slot), st.salt);
      if (detail !== undefined) bad.push({ id, file: st.path, offset: at, detail });
    }
    i = j;
  }
  return bad;
}

/** Why the image of `id` at `at` in `b` is not what the index says was written (its extent, lsn and bytes), or undefined. */
function checkImage(b: Uint8Array, at: number, id: string, extentBlocks: number, lsn: number, imageBytes: number, salt: number): string | undefined {
  const dataBytes = plausibleImageDataBytes(b, at);
  if (dataBytes < 0) return 'no live image head';
  const headBlocks = readU32(b, at + IMAGE.extentBlocks);
  const headLsn = readU64(b, at + IMAGE.lsn);
  if (headBlocks !== extentBlocks || headLsn !== lsn) return `head says ${headBlocks} blocks at lsn ${headLsn}, written ${extentBlocks} at lsn ${lsn}`;
  if (at + imageBytes > b.byteLength || !imageCrcMatchesAt(b, at, dataBytes, salt)) return 'crc mismatch';
  if (!payloadHasId(b, at + IMAGE_HEAD_BYTES, dataBytes, id)) return 'payload id differs';
  return undefined;
}
