/**
 * One flush of the database file, exactly docs/format.md §2.3 (copy on write):
 *
 *   1. new images into free blocks (first fit, else at the end) and, when the batch frees
 *      sessions, an interim header that counts them (other slot), datasync;
 *   2. freed markers over the old image of every replaced or deleted session, datasync;
 *   3. the header (other slot, appliedLsn, freeOffset), datasync;
 *   4. only now do the old extents join the free list.
 *
 * On an I/O error the in-memory state is left describing what is durable for sure, and
 * the error propagates; the caller refuses further writes.
 */

import { assert } from '../assert.js';
import type { DbState } from './db-state.js';
import type { ExtentAllocator } from './extent-allocator.js';
import type { SessionIndex } from './session-index.js';
import type { DbWriteBatch } from './db-types.js';
import { isValidSessionId } from '../session/session-id.js';
import { encodeImageInto, extentBlocksFor, IMAGE_DATA_BYTES_MAX, imageBytes, payloadHasId } from './image-codec.js';
import { orderByStart } from './extent-order.js';
import type { LoopSlice } from '../util/loop-slice.js';

/**
 * `slice`: the checks, and the image encoding (crc) between the writes, run in slices
 * between event-loop turns. Nothing else changes the file's state meanwhile (DatabaseFile
 * runs one write at a time), and the blocks are allocated after the checks, in one
 * synchronous pass. Per image no object is made: the index slots the check looked up are
 * used again, extents and the ones they replace sit in typed arrays and number arrays, and
 * the images are encoded straight into the buffers of the writes (db-state.ts writeEncoded).
 * Every loop over the images is a synchronous function of its own: V8 optimizes those once,
 * where a loop inside this async function was compiled again (OSR) and thrown away at
 * nearly every batch (applyBatch compiled ~25 times in 5 flushes, 10-80 ms each).
 */
export async function applyBatch(st: DbState, batch: DbWriteBatch, slice?: LoopSlice): Promise<void> {
  const slots = await checkBatch(st, batch, slice);
  const { alloc } = st;
  const deletes = [...new Set(batch.deletes)].filter((id) => st.index.has(id));
  const puts = batch.puts;
  if (puts.length === 0 && deletes.length === 0 && batch.appliedLsn === st.header.appliedLsn) return;

  // 1. Images. Blocks freed by this batch are not in the free list yet, so never reused here.
  const { starts, blocks } = allocateExtents(alloc, puts);
  const salt = st.salt;
  try {
    await st.writeEncoded(orderByStart(starts), starts, blocks, (k, out, at) => encodeImageInto(out, at, salt, puts[k]!.lsn, puts[k]!.data), slice);
    // Sessions this batch frees lose their image at step 2, before the header counts them
    // out: an interim header says how many, in the same sync (db-census.ts).
    if (deletes.length > 0) await st.writeHeaderUnsynced(st.header.appliedLsn, alloc.endBlock, deletes.length);
    if (puts.length > 0 || deletes.length > 0) await st.sync();
    if (deletes.length > 0) st.commitHeader();
  } catch (e) {
    // The new extents hold nothing anyone refers to.
    releaseAll(alloc, starts, blocks, puts.length);
    throw e;
  }
  const freed = indexImages(st.index, puts, slots, starts, blocks, deletes);
  const freedOrder = orderByStart(freed.starts);

  // 2. Markers. Until they are durable a deleted session's image may still be on disk,
  //    so deleted sessions stay in the index if this step fails.
  try {
    if (freed.starts.length > 0) {
      await st.writeMarkersOf(freed.starts, freed.blocks, freedOrder, slice);
      await st.sync();
    }
  } catch (e) {
    // The replaced images are superseded by durable new ones and no write will follow, so
    // their extents are accounted free; the deleted sessions (the last of freed) keep theirs.
    releaseAll(alloc, freed.starts, freed.blocks, freed.starts.length - deletes.length);
    throw e;
  }
  for (const id of deletes) st.index.delete(id);
  st.lastBatch = { puts, slots, changes: st.index.changes };

  // 3. Header. The markers are durable whether or not it lands, so the blocks are free.
  try {
    await st.writeHeader(batch.appliedLsn, alloc.endAfterReleaseOf(freed.starts, freed.blocks, freedOrder));
  } finally {
    alloc.releaseMany(freed.starts, freed.blocks, freedOrder);
  }
}

/** First fit for each put's extent, in put order. */
function allocateExtents(alloc: ExtentAllocator, puts: DbWriteBatch['puts']): { starts: Float64Array; blocks: Uint32Array } {
  const starts = new Float64Array(puts.length);
  const blocks = new Uint32Array(puts.length);
  for (let k = 0; k < puts.length; k++) {
    blocks[k] = extentBlocksFor(puts[k]!.data.byteLength);
    starts[k] = alloc.allocate(blocks[k]!);
  }
  return { starts, blocks };
}

/** Releases the first `count` extents (in one pass: ExtentAllocator.releaseMany). */
function releaseAll(alloc: ExtentAllocator, starts: ArrayLike<number>, blocks: ArrayLike<number>, count: number): void {
  alloc.releaseMany(starts, blocks, orderByStart(starts, count));
}

/**
 * The index takes the new images (into the slots checkBatch found, or new ones); returns the
 * extents they replace, in put order, then those of the deleted sessions. A new session's
 * slot goes into `slots`.
 */
function indexImages(index: SessionIndex, puts: DbWriteBatch['puts'], slots: Int32Array, starts: Float64Array, blocks: Uint32Array, deletes: readonly string[]): { starts: Float64Array; blocks: Uint32Array } {
  // Typed arrays of the most there can be: growing arrays of a big batch cost page faults.
  const freedStarts = new Float64Array(puts.length + deletes.length);
  const freedBlocks = new Uint32Array(puts.length + deletes.length);
  let m = 0;
  for (let k = 0; k < puts.length; k++) {
    const p = puts[k]!;
    const slot = slots[k]!;
    if (slot < 0) {
      slots[k] = index.add(p.id, starts[k]!, blocks[k]!, p.lsn, imageBytes(p.data.byteLength));
    } else {
      freedStarts[m] = index.startAt(slot);
      freedBlocks[m++] = index.extentBlocksAt(slot);
      index.replaceAt(slot, starts[k]!, blocks[k]!, p.lsn, imageBytes(p.data.byteLength));
    }
  }
  for (const id of deletes) {
    const slot = index.slotOf(id);
    freedStarts[m] = index.startAt(slot);
    freedBlocks[m++] = index.extentBlocksAt(slot);
  }
  return { starts: freedStarts.subarray(0, m), blocks: freedBlocks.subarray(0, m) };
}

/**
 * Programmer errors in a batch are assertion failures, raised before any I/O. Resolves the
 * index slot of each put (-1: a new session), which applyBatch uses instead of looking each
 * id up again. A session already in the index is found twice by its slot (the slots,
 * sorted); only the new ones go into a Set.
 */
async function checkBatch(st: DbState, batch: DbWriteBatch, slice: LoopSlice | undefined): Promise<Int32Array> {
  const { appliedLsn, puts } = batch;
  assert(Number.isSafeInteger(appliedLsn), `batch appliedLsn must be a safe integer, got ${appliedLsn}`);
  assert(appliedLsn >= st.header.appliedLsn, `batch appliedLsn ${appliedLsn} < current ${st.header.appliedLsn}`);
  const slots = new Int32Array(puts.length);
  const fresh = new Set<string>();
  for (let k = 0; k < puts.length; ) {
    if (slice?.due() === true) await slice.next();
    k = checkPuts(st.index, puts, k, slots, fresh, slice);
  }
  checkSlots(st.index, batch, slots, fresh);
  return slots;
}

/** No slot twice among the puts (a session already in the index put twice), no put also deleted. */
function checkSlots(index: SessionIndex, batch: DbWriteBatch, slots: Int32Array, fresh: Set<string>): void {
  const sorted = slots.slice().sort();
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]! >= 0 && sorted[i] === sorted[i - 1]) assert(false, `batch puts ${batch.puts[slots.indexOf(sorted[i]!)]!.id} twice`);
  }
  for (const id of batch.deletes) {
    const slot = index.slotOf(id);
    if (slot < 0 ? fresh.has(id) : hasSorted(sorted, slot)) assert(false, `batch both puts and deletes ${id}`);
  }
}

/** Checks the put at `from` and those after it until `slice` is due (returns where it stopped) or the last (returns puts.length). */
function checkPuts(index: SessionIndex, puts: DbWriteBatch['puts'], from: number, slots: Int32Array, fresh: Set<string>, slice: LoopSlice | undefined): number {
  for (let k = from; k < puts.length; k++) {
    if (k > from && slice?.due() === true) return k;
    const p = puts[k]!;
    // Every check runs per image of a flush: a message is built only when it fails.
    if (!isValidSessionId(p.id)) assert(false, `batch put has an invalid id ${JSON.stringify(p.id)}`);
    const slot = index.slotOf(p.id);
    if (slot < 0) {
      const before = fresh.size;
      if (fresh.add(p.id).size === before) assert(false, `batch puts ${p.id} twice`);
    }
    slots[k] = slot;
    // An image may be newer than appliedLsn (the session changed after the flusher's
    // snapshot, or an earlier batch of a split flush): recovery skips a session's records
    // at or below its image's lsn, so a newer image is never rolled back.
    if (!(Number.isSafeInteger(p.lsn) && p.lsn >= 0)) assert(false, `put ${p.id}: lsn ${p.lsn} is not a safe non-negative integer`);
    if (!(slot < 0 || p.lsn >= index.lsnAt(slot))) assert(false, `put ${p.id}: lsn ${p.lsn} below its image's ${index.lsnAt(slot)}`);
    if (!(p.data.byteLength <= IMAGE_DATA_BYTES_MAX)) assert(false, `put ${p.id}: image data too large: ${p.data.byteLength}`);
    if (!payloadHasId(p.data, 0, p.data.byteLength, p.id)) assert(false, `put ${p.id}: payload does not start with its id`);
  }
  return puts.length;
}

/** Whether `sorted` (ascending) holds `value`. */
function hasSorted(sorted: Int32Array, value: number): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length && sorted[lo] === value;
}
