/**
 * Online compaction: moves live images from the end of the file into free extents lower
 * down, then truncates the free tail, so the space goes back to the file system.
 *
 * Each step is the copy-on-write sequence of a flush (format.md §2.3) with the SAME lsn:
 * copy, datasync, freed marker over the source, datasync, header, datasync. A crash
 * between copy and marker leaves two copies with equal lsn, and the scan keeps the lower
 * offset: the copy. Steps are small so flushes can run between them.
 */

import { assert } from '../assert.js';
import { DB_BLOCK_BYTES, IMAGE_HEAD_BYTES } from '../format/constants.js';
import { SessiondError } from '../errors.js';
import type { DbState, ExtentWrite } from './db-state.js';
import type { Extent } from './extent-allocator.js';
import { imageBytes, imageCrcMatches, payloadHasId, readImageHead } from './image-codec.js';
import type { IndexEntry } from './session-index.js';

/** Bytes moved per step: big enough to amortize the three datasyncs, small enough not to stall flushes. */
export const COMPACT_STEP_BYTES = 4 * 1024 * 1024;

/** Live images that could move, highest first (a snapshot; entries may go stale). */
export interface CompactionCandidates {
  ids: string[];
  starts: number[];
}

interface Move {
  id: string;
  from: IndexEntry;
  to: number;
}

export function compactionCandidates(st: DbState): CompactionCandidates {
  // An image at or below the lowest free block has nowhere lower to go.
  const low = st.alloc.lowestFreeBlock;
  const ids: string[] = [];
  const starts: number[] = [];
  st.index.forEach((id, start) => {
    if (start > low) {
      ids.push(id);
      starts.push(start);
    }
  });
  const order = ids.map((_id, k) => k).sort((a, b) => starts[b]! - starts[a]!);
  return { ids: order.map((k) => ids[k]!), starts: order.map((k) => starts[k]!) };
}

/** Moves the candidates from `from` on, up to COMPACT_STEP_BYTES of them. */
export async function compactStep(
  st: DbState,
  c: CompactionCandidates,
  from: number,
): Promise<{ next: number; moved: number; done: boolean }> {
  const moves: Move[] = [];
  let bytes = 0;
  let i = from;
  let done = false;
  for (; i < c.ids.length && bytes < COMPACT_STEP_BYTES; i++) {
    const id = c.ids[i]!;
    const e = st.index.get(id);
    if (e === undefined || e.startBlock !== c.starts[i]) continue; // flushed or deleted since the snapshot
    if (st.alloc.lowestFreeBlock >= e.startBlock) {
      done = true; // candidates go down: none of the rest can move either
      break;
    }
    const to = st.alloc.allocateBelow(e.extentBlocks, e.startBlock);
    if (to < 0) continue;
    moves.push({ id, from: e, to });
    bytes += e.extentBlocks * DB_BLOCK_BYTES;
  }
  done ||= i >= c.ids.length;
  if (moves.length > 0) await move(st, moves);
  return { next: i, moved: moves.length, done };
}

async function move(st: DbState, moves: readonly Move[]): Promise<void> {
  try {
    const writes: ExtentWrite[] = [];
    for (const m of moves) {
      const image = await st.read(m.from.startBlock * DB_BLOCK_BYTES, m.from.imageBytes);
      checkSource(st, m, image);
      const pad = new Uint8Array(m.from.extentBlocks * DB_BLOCK_BYTES - image.byteLength);
      writes.push({ start: m.to, blocks: m.from.extentBlocks, buffers: [image, pad] });
    }
    await st.writeExtents(writes);
    await st.sync();
  } catch (e) {
    for (const m of moves) st.alloc.release(m.to, m.from.extentBlocks);
    throw e;
  }
  for (const m of moves) st.index.set(m.id, { ...m.from, startBlock: m.to });
  const sources: Extent[] = moves.map((m) => ({ start: m.from.startBlock, blocks: m.from.extentBlocks }));
  // Whatever happens from here, the durable copies win over the sources, so the sources
  // are accounted free even when a later step fails (no write follows a failure).
  try {
    await st.writeMarkers(sources);
    await st.sync();
    await st.writeHeader(st.header.appliedLsn, st.alloc.endAfterRelease(sources));
  } finally {
    for (const s of sources) st.alloc.release(s.start, s.blocks);
  }
}

/** The image about to be copied must still be the one the index describes. */
function checkSource(st: DbState, m: Move, image: Uint8Array): void {
  const head = readImageHead(image, 0);
  const ok =
    head !== undefined &&
    head.lsn === m.from.lsn &&
    head.extentBlocks === m.from.extentBlocks &&
    imageBytes(head.dataBytes) === image.byteLength &&
    imageCrcMatches(image, 0, head, st.salt) &&
    payloadHasId(image, IMAGE_HEAD_BYTES, head.dataBytes, m.id);
  if (!ok) {
    const offset = m.from.startBlock * DB_BLOCK_BYTES;
    throw new SessiondError('SESSIOND_DB_CORRUPT', `${st.path}: image of ${m.id} at ${offset} changed on disk`, {
      file: st.path,
      offset,
    });
  }
}

/** Ends compaction: header with the final freeOffset, then the file gives its free tail back. */
export async function trimTail(st: DbState): Promise<void> {
  const endBytes = st.alloc.endBlock * DB_BLOCK_BYTES;
  if (st.header.freeOffset !== endBytes) await st.writeHeader(st.header.appliedLsn, st.alloc.endBlock);
  if (st.fileBytes > endBytes) {
    await st.truncate(endBytes);
    await st.sync();
  }
  assert(st.fileBytes <= endBytes, 'the file still has a free tail after trimming');
}
