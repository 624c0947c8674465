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
import type { DbState, ExtentWrite } from './db-state.js';
import type { DbWriteBatch } from './db-types.js';
import type { Extent } from './extent-allocator.js';
import { isValidSessionId } from '../session/session-id.js';
import { encodeImage, imageBytes, payloadHasId } from './image-codec.js';
import type { LoopSlice } from '../util/loop-slice.js';

/**
 * `slice`: the checks and the image encoding (crc) run in slices between event-loop turns.
 * Nothing else changes the file's state meanwhile (DatabaseFile runs one write at a time),
 * and the blocks are allocated after the last slice, in one synchronous pass.
 */
export async function applyBatch(st: DbState, batch: DbWriteBatch, slice?: LoopSlice): Promise<void> {
  await checkBatch(st, batch, slice);
  const deletes = [...new Set(batch.deletes)].filter((id) => st.index.has(id));
  if (batch.puts.length === 0 && deletes.length === 0 && batch.appliedLsn === st.header.appliedLsn) return;

  // 1. Images. Blocks freed by this batch are not in the free list yet, so never reused here.
  const encoded: Array<{ buffers: Uint8Array[]; blocks: number }> = [];
  for (const p of batch.puts) {
    if (slice?.due() === true) await slice.next();
    encoded.push(encodeImage(st.salt, p.lsn, p.data));
  }
  const writes: ExtentWrite[] = encoded.map(({ buffers, blocks }) => ({ start: st.alloc.allocate(blocks), blocks, buffers }));
  try {
    await st.writeExtents(writes);
    // Sessions this batch frees lose their image at step 2, before the header counts them
    // out: an interim header says how many, in the same sync (db-census.ts).
    if (deletes.length > 0) await st.writeHeaderUnsynced(st.header.appliedLsn, st.alloc.endBlock, deletes.length);
    if (writes.length > 0 || deletes.length > 0) await st.sync();
    if (deletes.length > 0) st.commitHeader();
  } catch (e) {
    // The new extents hold nothing anyone refers to.
    for (const w of writes) st.alloc.release(w.start, w.blocks);
    throw e;
  }
  const freed: Extent[] = [];
  batch.puts.forEach((p, k) => {
    const w = writes[k]!;
    const entry = { startBlock: w.start, extentBlocks: w.blocks, lsn: p.lsn, imageBytes: imageBytes(p.data.byteLength) };
    const old = st.index.set(p.id, entry);
    if (old !== undefined) freed.push({ start: old.startBlock, blocks: old.extentBlocks });
  });
  for (const id of deletes) {
    const e = st.index.get(id)!;
    freed.push({ start: e.startBlock, blocks: e.extentBlocks });
  }

  // 2. Markers. Until they are durable a deleted session's image may still be on disk,
  //    so deleted sessions stay in the index if this step fails.
  try {
    if (freed.length > 0) {
      await st.writeMarkers(freed);
      await st.sync();
    }
  } catch (e) {
    releaseReplaced(st, freed, deletes.length);
    throw e;
  }
  for (const id of deletes) st.index.delete(id);

  // 3. Header. The markers are durable whether or not it lands, so the blocks are free.
  try {
    await st.writeHeader(batch.appliedLsn, st.alloc.endAfterRelease(freed));
  } finally {
    for (const f of freed) st.alloc.release(f.start, f.blocks);
  }
}

/**
 * After a failed marker step: the replaced images are superseded by durable new ones and
 * no write will follow, so their extents are accounted free; the deleted sessions (the
 * last `deleted` of `freed`) keep theirs.
 */
function releaseReplaced(st: DbState, freed: readonly Extent[], deleted: number): void {
  for (const f of freed.slice(0, freed.length - deleted)) st.alloc.release(f.start, f.blocks);
}

/** Programmer errors in a batch are assertion failures, raised before any I/O. */
async function checkBatch(st: DbState, batch: DbWriteBatch, slice: LoopSlice | undefined): Promise<void> {
  const { appliedLsn } = batch;
  assert(Number.isSafeInteger(appliedLsn), `batch appliedLsn must be a safe integer, got ${appliedLsn}`);
  assert(appliedLsn >= st.header.appliedLsn, `batch appliedLsn ${appliedLsn} < current ${st.header.appliedLsn}`);
  const ids = new Set<string>();
  for (const p of batch.puts) {
    if (slice?.due() === true) await slice.next();
    // Every check runs per image of a flush: a message is built only when it fails.
    if (!isValidSessionId(p.id)) assert(false, `batch put has an invalid id ${JSON.stringify(p.id)}`);
    if (ids.has(p.id)) assert(false, `batch puts ${p.id} twice`);
    ids.add(p.id);
    // An image may be newer than appliedLsn (the session changed after the flusher's
    // snapshot, or an earlier batch of a split flush): recovery skips a session's records
    // at or below its image's lsn, so a newer image is never rolled back.
    if (!(Number.isSafeInteger(p.lsn) && p.lsn >= 0)) assert(false, `put ${p.id}: lsn ${p.lsn} is not a safe non-negative integer`);
    const slot = st.index.slotOf(p.id);
    if (!(slot < 0 || p.lsn >= st.index.lsnAt(slot))) assert(false, `put ${p.id}: lsn ${p.lsn} below its image's ${st.index.lsnAt(slot)}`);
    if (!payloadHasId(p.data, 0, p.data.byteLength, p.id)) assert(false, `put ${p.id}: payload does not start with its id`);
  }
  for (const id of batch.deletes) if (ids.has(id)) assert(false, `batch both puts and deletes ${id}`);
}
