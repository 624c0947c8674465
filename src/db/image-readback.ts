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
import type { SessionIndex } from './session-index.js';
import { orderByStart } from './extent-order.js';
import type { LoopSlice } from '../util/loop-slice.js';
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

/**
 * The images to read back (an id without an image is skipped) in file order: where each
 * is in the index, and which id it must carry. Parallel arrays, no object per image.
 */
interface ReadBackPlan {
  slots: Int32Array;
  starts: Float64Array;
  /** The id of image n is ids[idAt[n]]. */
  ids: readonly string[];
  idAt: Uint32Array;
  order: Uint32Array;
  /** Of all the extents together: the read buffer need not be bigger. */
  bytes: number;
}

/** With `slice` (the flusher's), each read waits for a new slice when the current one is used up. */
export async function readBackImages(st: DbState, ids: readonly string[], slice?: LoopSlice): Promise<ImageMismatch[]> {
  // The loops are synchronous functions of their own, optimized once (see batch-writer.ts).
  const plan = planReadBack(st.index, ids, st.lastBatch);
  st.lastBatch = undefined; // its payloads are not kept past the read-back
  const bad: ImageMismatch[] = [];
  let buf: Uint8Array | undefined; // one read buffer for the call
  for (let i = 0; i < plan.order.length; ) {
    const j = runEnd(st.index, plan, i);
    const base = plan.starts[plan.order[i]!]! * DB_BLOCK_BYTES;
    const k = plan.order[j - 1]!;
    const bytes = (plan.starts[k]! + st.index.extentBlocksAt(plan.slots[k]!)) * DB_BLOCK_BYTES - base;
    const into = bytes <= READBACK_READ_BYTES_MAX ? (buf ??= new Uint8Array(Math.min(READBACK_READ_BYTES_MAX, plan.bytes))) : new Uint8Array(bytes);
    if (slice?.due() === true) await slice.next();
    if (!st.readIntoSync(into, base, bytes)) await st.readInto(into, base, bytes);
    checkRun(st, plan, i, j, into.byteLength === bytes ? into : into.subarray(0, bytes), base, bad);
    i = j;
  }
  return bad;
}

function planReadBack(index: SessionIndex, ids: readonly string[], last: DbState['lastBatch']): ReadBackPlan {
  // Typed arrays of the most there can be: growing arrays of a big batch cost page faults.
  const slots = new Int32Array(ids.length);
  const starts = new Float64Array(ids.length);
  const idAt = new Uint32Array(ids.length);
  // The ids of the batch just written, the index unchanged since: its slots, no look-up.
  const known = last !== undefined && last.changes === index.changes && sameIds(ids, last.puts) ? last.slots : undefined;
  let n = 0;
  let blocks = 0;
  for (let i = 0; i < ids.length; i++) {
    const slot = known !== undefined ? known[i]! : index.slotOf(ids[i]!);
    if (slot < 0) continue;
    slots[n] = slot;
    starts[n] = index.startAt(slot);
    blocks += index.extentBlocksAt(slot);
    idAt[n++] = i;
  }
  return { slots, starts, ids, idAt, order: orderByStart(starts, n), bytes: blocks * DB_BLOCK_BYTES };
}

function sameIds(ids: readonly string[], puts: ReadonlyArray<{ id: string }>): boolean {
  if (ids.length !== puts.length) return false;
  for (let i = 0; i < ids.length; i++) if (ids[i] !== puts[i]!.id) return false;
  return true;
}

/** The end (exclusive, in plan.order) of the run from `i`: adjacent extents, or a single extent bigger than the limit. */
function runEnd(index: SessionIndex, plan: ReadBackPlan, i: number): number {
  const { slots, starts, order } = plan;
  const first = starts[order[i]!]!;
  let endBlock = first + index.extentBlocksAt(slots[order[i]!]!);
  let j = i + 1;
  for (; j < order.length; j++) {
    const blocks = index.extentBlocksAt(slots[order[j]!]!);
    if (starts[order[j]!] !== endBlock || (endBlock + blocks - first) * DB_BLOCK_BYTES > READBACK_READ_BYTES_MAX) break;
    endBlock += blocks;
  }
  return j;
}

/** Checks the images order[i] .. order[j - 1] in `run` (the bytes from byte `base`), pushing each mismatch onto `bad`. */
function checkRun(st: DbState, plan: ReadBackPlan, i: number, j: number, run: Uint8Array, base: number, bad: ImageMismatch[]): void {
  const index = st.index;
  for (let k = i; k < j; k++) {
    const n = plan.order[k]!;
    const slot = plan.slots[n]!;
    const at = plan.starts[n]! * DB_BLOCK_BYTES;
    const id = plan.ids[plan.idAt[n]!]!;
    const detail = checkImage(run, at - base, id, index.extentBlocksAt(slot), index.lsnAt(slot), index.imageBytesAt(slot), st.salt);
    if (detail !== undefined) bad.push({ id, file: st.path, offset: at, detail });
  }
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
