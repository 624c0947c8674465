/**
 * Reading one session's image back on demand (an evicted session's load, docs/memory.md):
 * one positioned read of the bytes the index says it has, checked like the open scan checks
 * an image (live magic, the extent and lsn the index holds, salted crc, the session's id).
 * No scan: the index is in memory.
 */

import { DB_BLOCK_BYTES, IMAGE_HEAD_BYTES } from '../format/constants.js';
import type { DbState } from './db-state.js';
import { imageCrcMatches, payloadHasId, readImageHead } from './image-codec.js';

export type ImageRead = { data: Uint8Array; lsn: number; offset: number } | { bad: string; offset: number } | undefined;

/**
 * The image of `id` as the index places it now: its payload, or why the bytes there are
 * not it (`bad`), or undefined when the index has none. A compaction step or a flush can
 * move or free the image while the read is in flight: callers retry a `bad` read with the
 * writers held off (database-file.ts) before calling it damage.
 */
export async function readImageOf(st: DbState, id: string): Promise<ImageRead> {
  const e = st.index.get(id);
  if (e === undefined) return undefined;
  const offset = e.startBlock * DB_BLOCK_BYTES;
  const b = await st.read(offset, e.imageBytes);
  const head = readImageHead(b, 0);
  if (head === undefined) return { bad: 'no live image head', offset };
  if (head.extentBlocks !== e.extentBlocks || head.lsn !== e.lsn) return { bad: `head says ${head.extentBlocks} blocks at lsn ${head.lsn}, index ${e.extentBlocks} at lsn ${e.lsn}`, offset };
  if (IMAGE_HEAD_BYTES + head.dataBytes + 4 !== e.imageBytes || !imageCrcMatches(b, 0, head, st.salt)) return { bad: 'crc mismatch', offset };
  if (!payloadHasId(b, IMAGE_HEAD_BYTES, head.dataBytes, id)) return { bad: 'payload id differs', offset };
  return { data: b.subarray(IMAGE_HEAD_BYTES, IMAGE_HEAD_BYTES + head.dataBytes), lsn: head.lsn, offset };
}
