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
import type { IndexEntry } from './session-index.js';

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
  const wanted = ids.flatMap((id) => {
    const e = st.index.get(id);
    return e === undefined ? [] : [{ id, e }];
  });
  wanted.sort((a, b) => a.e.startBlock - b.e.startBlock);
  const bad: ImageMismatch[] = [];
  for (let i = 0; i < wanted.length; ) {
    // One run of adjacent extents, or a single extent bigger than the limit.
    let j = i + 1;
    let endBlock = wanted[i]!.e.startBlock + wanted[i]!.e.extentBlocks;
    while (j < wanted.length && wanted[j]!.e.startBlock === endBlock && (endBlock + wanted[j]!.e.extentBlocks - wanted[i]!.e.startBlock) * DB_BLOCK_BYTES <= READBACK_READ_BYTES_MAX) {
      endBlock += wanted[j]!.e.extentBlocks;
      j++;
    }
    const base = wanted[i]!.e.startBlock * DB_BLOCK_BYTES;
    const buf = await st.read(base, endBlock * DB_BLOCK_BYTES - base);
    for (const { id, e } of wanted.slice(i, j)) {
      const detail = checkImage(buf, e.startBlock * DB_BLOCK_BYTES - base, id, e, st.salt);
      if (detail !== undefined) bad.push({ id, file: st.path, offset: e.startBlock * DB_BLOCK_BYTES, detail });
    }
    i = j;
  }
  return bad;
}

/** Why the image of `id` at `at` in `b` is not what the index says was written, or undefined. */
function checkImage(b: Uint8Array, at: number, id: string, e: IndexEntry, salt: number): string | undefined {
  const head = readImageHead(b, at);
  if (head === undefined) return 'no live image head';
  if (head.extentBlocks !== e.extentBlocks || head.lsn !== e.lsn) return `head says ${head.extentBlocks} blocks at lsn ${head.lsn}, written ${e.extentBlocks} at lsn ${e.lsn}`;
  if (at + e.imageBytes > b.byteLength || !imageCrcMatches(b, at, head, salt)) return 'crc mismatch';
  if (!payloadHasId(b, at + IMAGE_HEAD_BYTES, head.dataBytes, id)) return 'payload id differs';
  return undefined;
}
