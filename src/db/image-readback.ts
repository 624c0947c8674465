/**
 * Read-back of freshly written images (docs/durability.md "Corruption"): before a log may
 * be released, the database file's copy of its changes must be readable. Each image is
 * read from disk again and must check out exactly as written: live magic, its extent, its
 * lsn, the salted crc and the session id it belongs to. Adjacent extents (a batch's images
 * are usually allocated side by side) are read together, at most READBACK_READ_BYTES_MAX
 * bytes per read.
 */

import { DB_BLOCK_BYTES, IMAGE_HEAD_BYTES } from '../format/constants.js';
import type { DbState } from './db-state.js';
import { imageCrcMatches, payloadHasId, readImageHead } from './image-codec.js';

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
  // (a flush reads back every image it wrote).
  const index = st.index;
  const slots: number[] = [];
  const idAt: string[] = [];
  for (const id of ids) {
    const slot = index.slotOf(id);
    if (slot < 0) continue;
    slots.push(slot);
    idAt.push(id);
  }
  const order = Array.from(slots.keys()).sort((a, b) => index.startAt(slots[a]!) - index.startAt(slots[b]!));
  const bad: ImageMismatch[] = [];
  for (let i = 0; i < order.length; ) {
    // One run of adjacent extents, or a single extent bigger than the limit.
    const first = index.startAt(slots[order[i]!]!);
    let endBlock = first + index.extentBlocksAt(slots[order[i]!]!);
    let j = i + 1;
    for (; j < order.length; j++) {
      const slot = slots[order[j]!]!;
      const blocks = index.extentBlocksAt(slot);
      if (index.startAt(slot) !== endBlock || (endBlock + blocks - first) * DB_BLOCK_BYTES > READBACK_READ_BYTES_MAX) break;
      endBlock += blocks;
    }
    const base = first * DB_BLOCK_BYTES;
    const buf = await st.read(base, endBlock * DB_BLOCK_BYTES - base);
    for (let k = i; k < j; k++) {
      const slot = slots[order[k]!]!;
      const id = idAt[order[k]!]!;
      const at = index.startAt(slot) * DB_BLOCK_BYTES;
      const detail = checkImage(buf, at - base, id, index.extentBlocksAt(slot), index.lsnAt(slot), index.imageBytesAt(slot), st.salt);
      if (detail !== undefined) bad.push({ id, file: st.path, offset: at, detail });
    }
    i = j;
  }
  return bad;
}

/** Why the image of `id` at `at` in `b` is not what the index says was written (its extent, lsn and bytes), or undefined. */
function checkImage(b: Uint8Array, at: number, id: string, extentBlocks: number, lsn: number, imageBytes: number, salt: number): string | undefined {
  const head = readImageHead(b, at);
  if (head === undefined) return 'no live image head';
  if (head.extentBlocks !== extentBlocks || head.lsn !== lsn) return `head says ${head.extentBlocks} blocks at lsn ${head.lsn}, written ${extentBlocks} at lsn ${lsn}`;
  if (at + imageBytes > b.byteLength || !imageCrcMatches(b, at, head, salt)) return 'crc mismatch';
  if (!payloadHasId(b, at + IMAGE_HEAD_BYTES, head.dataBytes, id)) return 'payload id differs';
  return undefined;
}
