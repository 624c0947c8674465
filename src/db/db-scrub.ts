/**
 * Scrubbing the free space of the database file (docs/format.md §2.3, "Scrub"): zeros over
 * every free block, then the free tail given back to the file system, then a datasync. A
 * freed marker zeroes a freed extent of at most MARKER_ZERO_FILL_BLOCKS_MAX blocks but only the
 * first block of a bigger one, so without this the other blocks keep the bytes of the image they held (sealed under whatever key was current then)
 * until reused. `engine.rekey()` scrubs once every image is written under the current key,
 * so no byte sealed under an older key is left in the file.
 *
 * Crash safety: a block is in the free list only once nothing refers to it (its freed
 * marker is durable, or the scan found no image there), and the flusher may write a new
 * image over it at any time, so writing zeros there is never less safe than a flush: the
 * scan takes a zeroed block for free space, as it takes any block without an image head.
 * Each step runs queued with the writes (DatabaseFile), so no batch allocates a block while
 * a step zeroes it; flushes go on between steps.
 */

import { DB_BLOCK_BYTES } from '../format/constants.js';
import type { DbState, ExtentWrite } from './db-state.js';
import { trimTail } from './db-compactor.js';
import { pushZeros } from './zeros.js';

/** Zero bytes written per step: small enough not to hold flushes back for long. */
export const SCRUB_STEP_BYTES = 1024 * 1024;
/** Free extents zeroed per step at most (each is its own write). */
const SCRUB_STEP_EXTENTS_MAX = 256;
/**
 * Zeros the free blocks at or above `fromBlock`, up to SCRUB_STEP_BYTES of them. Resolves
 * the block to go on from (`next`, -1 when every free block above `fromBlock` is zeroed)
 * and the bytes written. Not synced: `finishScrub` syncs once.
 */
export async function scrubStep(st: DbState, fromBlock: number): Promise<{ next: number; bytes: number }> {
  const writes: ExtentWrite[] = [];
  let budget = SCRUB_STEP_BYTES / DB_BLOCK_BYTES;
  let next = -1;
  st.alloc.forEachFree((start, blocks) => {
    if (next >= 0 || start + blocks <= fromBlock) return;
    const s = Math.max(start, fromBlock);
    const n = Math.min(start + blocks - s, budget);
    writes.push({ start: s, blocks: n, buffers: pushZeros([], n * DB_BLOCK_BYTES) });
    budget -= n;
    if (budget === 0 || writes.length === SCRUB_STEP_EXTENTS_MAX) next = s + n;
  });
  await st.writeExtents(writes);
  return { next, bytes: writes.reduce((sum, w) => sum + w.blocks * DB_BLOCK_BYTES, 0) };
}

/**
 * Ends a scrub: the free tail past the last live image is truncated away (after a header
 * that states it, as compaction does), then the zeros are made durable, so a power loss
 * cannot bring the old bytes back. Resolves the bytes the file gave back.
 */
export async function finishScrub(st: DbState): Promise<number> {
  const before = st.fileBytes;
  await trimTail(st);
  await st.sync();
  return before - st.fileBytes;
}
