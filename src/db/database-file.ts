/**
 * The database file `sessions.db` (docs/format.md §2): opaque session images in
 * block extents, written copy on write, plus an index (id → extent) and a free list that
 * the open scan rebuilds. Writers are serialized: one batch or compaction step at a time.
 *
 * Failure model: any I/O error rejects with SESSIOND_IO and the object refuses every
 * later write with that same error. The engine treats it as fatal; the next open recovers
 * from the logs.
 */

import { assert } from '../assert.js';
import { DB_BLOCK_BYTES, DB_OFFSET_NONE } from '../format/constants.js';
import { ioError, isSessiondError, SessiondError } from '../errors.js';
import { applyBatch } from './batch-writer.js';
import { compactionCandidates, compactStep, trimTail } from './db-compactor.js';
import { finishScrub, scrubStep } from './db-scrub.js';
import { openDbState } from './db-open.js';
import { readBackImages, type ImageMismatch } from './image-readback.js';
import { readImageOf } from './image-read.js';
import type { DbState } from './db-state.js';
import { FIRST_DATA_BLOCK } from './extent-allocator.js';
import type { DbOpenOptions, DbScanReport, DbStats, DbWriteBatch, StoredImage } from './db-types.js';
import type { LoopSlice } from '../util/loop-slice.js';

export type { DbOpenOptions, DbScanReport, DbStats, DbWriteBatch, StoredImage } from './db-types.js';
export { verifyDatabaseFile } from './verify-database.js';

/** Compaction repeats while a round moved something; this bounds its work on odd layouts. */
const COMPACT_ROUNDS_MAX = 8;

export class DatabaseFile {
  private queue: Promise<unknown> = Promise.resolve();
  private failure: SessiondError | undefined;
  private closed = false;

  private constructor(
    private readonly st: DbState,
    readonly scanReport: DbScanReport,
  ) {}

  /**
   * Opens (or creates) `dir/sessions.db` and calls `onImage` for every image that wins when
   * the scan finds it, in file order: a session's later, newer copy is handed over again and
   * replaces the earlier one (duplicates are rare crash leftovers). `img.data` is only valid
   * during the call.
   */
  static async open(opts: DbOpenOptions, onImage: (img: StoredImage) => void): Promise<DatabaseFile> {
    const { state, report } = await openDbState(opts, onImage);
    return new DatabaseFile(state, report);
  }

  /** Every log record with lsn <= appliedLsn is in this file (the durable header). */
  get appliedLsn(): number {
    return this.st.header.appliedLsn;
  }

  /** Highest lsn of any live image (0 if none). */
  get maxImageLsn(): number {
    return this.st.index.maxLsn();
  }

  /** Byte offset of the session's image, DB_OFFSET_NONE when it has none. */
  offsetOf(id: string): number {
    const start = this.st.index.startBlockOf(id);
    return start === undefined ? DB_OFFSET_NONE : start * DB_BLOCK_BYTES;
  }

  has(id: string): boolean {
    return this.st.index.has(id);
  }

  /** LSN of the session's image, -1 when it has none (the cache evicts only what this holds). */
  imageLsnOf(id: string): number {
    const slot = this.st.index.slotOf(id);
    return slot < 0 ? -1 : this.st.index.lsnAt(slot);
  }

  /**
   * The payload and lsn of the session's current image, read back with one positioned read
   * (image-read.ts); undefined when it has none. Not queued behind writes: a read that
   * raced a flush or compaction step moving the image is retried once, queued, and a second
   * mismatch is SESSIOND_DB_CORRUPT.
   */
  async readImage(id: string): Promise<{ data: Uint8Array; lsn: number } | undefined> {
    if (this.closed) throw new SessiondError('SESSIOND_CLOSED', `${this.st.path} is closed`, { file: this.st.path });
    const first = await readImageOf(this.st, id);
    if (first === undefined || 'data' in first) return first;
    const again = await this.exclusive(() => readImageOf(this.st, id));
    if (again === undefined || 'data' in again) return again;
    throw new SessiondError('SESSIOND_DB_CORRUPT', `${this.st.path} at byte ${again.offset}: the image of a session read back damaged (${again.bad})`, { file: this.st.path, offset: again.offset });
  }

  /** Writes a flush batch (format.md §2.3). Calls queue: one batch at a time. */
  writeBatch(batch: DbWriteBatch, slice?: LoopSlice): Promise<void> {
    return this.exclusive(() => applyBatch(this.st, batch, slice));
  }

  /**
   * Reads the current images of `ids` back from disk (image-readback.ts); resolves with
   * those that do not check out. Queued with writes, so it sees the index they left.
   */
  readBack(ids: readonly string[], slice?: LoopSlice): Promise<ImageMismatch[]> {
    return this.exclusive(() => readBackImages(this.st, ids, slice));
  }

  /**
   * Moves live images from the end into free extents lower down, then truncates the free
   * tail. Runs in small steps that queue with writeBatch, so flushes go on meanwhile.
   */
  async compact(): Promise<{ bytesBefore: number; bytesAfter: number; moved: number }> {
    const bytesBefore = await this.exclusive(async () => this.st.fileBytes);
    let moved = 0;
    for (let round = 0; round < COMPACT_ROUNDS_MAX; round++) {
      const candidates = await this.exclusive(async () => compactionCandidates(this.st));
      let roundMoved = 0;
      let next = 0;
      let done = candidates.ids.length === 0;
      while (!done) {
        const from = next;
        const step = await this.exclusive(() => compactStep(this.st, candidates, from));
        ({ next, done } = step);
        roundMoved += step.moved;
      }
      moved += roundMoved;
      if (roundMoved === 0) break;
    }
    await this.exclusive(() => trimTail(this.st));
    return { bytesBefore, bytesAfter: this.st.fileBytes, moved };
  }

  /**
   * Zeros every free block and truncates the free tail, then datasyncs (db-scrub.ts): no
   * byte of a freed image is left in the file. In steps queued with writeBatch, so flushes
   * go on meanwhile. `engine.rekey()` calls it once every image is under the current key.
   */
  async scrubFree(): Promise<{ bytesZeroed: number; bytesTrimmed: number }> {
    let bytesZeroed = 0;
    for (let from = FIRST_DATA_BLOCK; from >= 0; ) {
      const step = await this.exclusive(() => scrubStep(this.st, from));
      bytesZeroed += step.bytes;
      from = step.next;
    }
    const bytesTrimmed = await this.exclusive(() => finishScrub(this.st));
    return { bytesZeroed, bytesTrimmed };
  }

  stats(): DbStats {
    const { index, alloc, fileBytes } = this.st;
    const allocatedBytes = index.allocatedBlocks * DB_BLOCK_BYTES;
    const freeBytes = alloc.freeBlocks * DB_BLOCK_BYTES;
    const freeOffset = alloc.endBlock * DB_BLOCK_BYTES;
    return {
      fileBytes,
      liveImages: index.size,
      liveBytes: index.liveImageBytes,
      allocatedBytes,
      freeBytes,
      freeExtents: alloc.freeExtents,
      tailFreeBytes: Math.max(0, fileBytes - freeOffset),
      fragmentation: allocatedBytes + freeBytes === 0 ? 0 : freeBytes / (allocatedBytes + freeBytes),
      freeOffset,
    };
  }

  /** Asserts the index, the free list and the header agree (tests call it after every operation). */
  checkInvariants(): void {
    this.st.checkInvariants();
    assert(this.st.header.freeOffset >= DB_BLOCK_BYTES * 2, 'header freeOffset inside the header blocks');
  }

  /**
   * Waits for queued writes, then closes the file. Idempotent. A clean close leaves the
   * same header in both slots (every header write does, but the open and an interim header
   * leave them apart), so damage to either one later falls back to a header whose count of
   * live images is exact (db-census.ts).
   */
  async close(): Promise<void> {
    await this.queue;
    if (this.closed) return;
    if (this.failure === undefined && (this.st.header.freeingImages > 0 || !this.st.bothSlotsCurrent)) {
      await this.exclusive(() => this.st.writeHeader(this.st.header.appliedLsn, this.st.alloc.endBlock)).catch(() => undefined);
    }
    this.closed = true;
    try {
      await this.st.handle.close();
    } catch (e) {
      throw ioError('close', this.st.path, e);
    }
  }

  /** Runs `fn` after every earlier write; a failure poisons the object for later writes. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      if (this.closed) throw new SessiondError('SESSIOND_CLOSED', `${this.st.path} is closed`, { file: this.st.path });
      if (this.failure) throw this.failure;
      try {
        return await fn();
      } catch (e) {
        if (isSessiondError(e)) this.failure = e;
        throw e;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
