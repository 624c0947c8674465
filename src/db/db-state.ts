/**
 * What an open database file is made of (handle, header, index, free list) and the
 * primitive steps that writers compose: coalesced image writes, freed markers, datasync,
 * header. Every I/O error leaves here as SESSIOND_IO (ioError).
 */

import { assert } from '../assert.js';
import { DB_BLOCK_BYTES, DB_HEADER_SLOTS, U64_MAX_SAFE } from '../format/constants.js';
import { ioError } from '../errors.js';
import type { FileHandle } from '../fs/file-system.js';
import type { DbHeader } from './db-header.js';
import { encodeDbHeader } from './db-header.js';
import type { Extent, ExtentAllocator } from './extent-allocator.js';
import { FIRST_DATA_BLOCK } from './extent-allocator.js';
import { encodeFreedMarkerInto } from './image-codec.js';
import type { SessionIndex } from './session-index.js';
import { orderByStart } from './extent-order.js';
import { boundedAll } from '../util/bounded-all.js';
import type { LoopSlice } from '../util/loop-slice.js';

/** An image write: `buffers` fill the extent that starts at block `start`. */
export interface ExtentWrite {
  start: number;
  blocks: number;
  buffers: Uint8Array[];
}

/** Below IOV_MAX (1024 on Linux), so no platform splits a writev behind our back. */
const IOVECS_PER_WRITE_MAX = 1000;

/**
 * Writes of one writeExtents in flight at once. Each is a thread-pool round trip: one at a
 * time, every write paid a wake-up of a pool thread and one of the event loop (~35-85 µs of
 * CPU a write on the bench machine against ~20 µs with 16 in flight, docs/benchmarks.md).
 * The order of the writes does not matter: the caller syncs after all of them.
 */
export const WRITES_IN_FLIGHT_MAX = 16;

/**
 * Freed extents up to this many blocks (4 KiB: most sessions) are zeroed whole by their
 * marker write; see writeMarkers.
 */
export const MARKER_ZERO_FILL_BLOCKS_MAX = 8;

/**
 * Most bytes of one writev of writeEncoded: a run of extents that touch, encoded into one
 * buffer. The buffers are reused within a call, so a call holds at most
 * WRITES_IN_FLIGHT_MAX of them (2 MiB) however big its batch.
 */
export const ENCODED_WRITE_BYTES_MAX = 128 * 1024;

/**
 * Writes (and read-back reads) of at most this many bytes are made on the event loop's
 * thread when the file layer can (FileHandle.writevSync, readSync): a write of a few KiB
 * into the page cache is one system call of a few µs there, where a trip through libuv's
 * pool costs ~20-30 µs of CPU in wake-ups (docs/benchmarks.md, "Small writes on the event
 * loop's thread"). A checkpoint that replaces images writes them into the scattered blocks
 * the last one freed, and one freed marker per replaced image. The callers yield between
 * slices (LoopSlice), so the thread is never held for long.
 */
export const SYNC_IO_BYTES_MAX = 16 * 1024;

/**
 * Encodes extent k (blocksOf[k] blocks from block startOf[k]) into `out` at byte `at`,
 * whose bytes up to the extent's end are zeros when called.
 */
export type ExtentEncoder = (k: number, out: Uint8Array, at: number) => void;

/** Extents sorted by start, those that touch merged into runs of at most IOVECS_PER_WRITE_MAX iovecs. */
function coalesceExtents(writes: readonly ExtentWrite[]): Array<{ buffers: Uint8Array[]; start: number; end: number }> {
  const sorted = [...writes].sort((a, b) => a.start - b.start);
  const runs: Array<{ buffers: Uint8Array[]; start: number; end: number }> = [];
  let i = 0;
  while (i < sorted.length) {
    const first = sorted[i]!;
    const buffers = [...first.buffers];
    let end = first.start + first.blocks;
    for (i++; i < sorted.length; i++) {
      const next = sorted[i]!;
      if (next.start !== end || buffers.length + next.buffers.length > IOVECS_PER_WRITE_MAX) break;
      buffers.push(...next.buffers);
      end += next.blocks;
    }
    runs.push({ buffers, start: first.start, end });
  }
  return runs;
}

/**
 * writeEncoded's runs: extents (by `order`) that touch, at most ENCODED_WRITE_BYTES_MAX
 * bytes together unless one alone is bigger. Run r is order[runs[r]] .. order[runs[r + 1] - 1].
 */
function planRuns(order: ArrayLike<number>, startOf: ArrayLike<number>, blocksOf: ArrayLike<number>): number[] {
  const runFrom: number[] = [];
  const maxBlocks = ENCODED_WRITE_BYTES_MAX / DB_BLOCK_BYTES;
  let end = -1;
  let runStart = 0;
  for (let i = 0; i < order.length; i++) {
    const k = order[i]!;
    const start = startOf[k]!;
    const blocks = blocksOf[k]!;
    if (start !== end || end + blocks - runStart > maxBlocks) {
      runFrom.push(i);
      runStart = start;
    }
    end = start + blocks;
  }
  runFrom.push(order.length);
  return runFrom;
}

/** Bytes from the start of extent order[from] to the end of order[to - 1]. */
function runBytes(order: ArrayLike<number>, from: number, to: number, startOf: ArrayLike<number>, blocksOf: ArrayLike<number>): number {
  const last = order[to - 1]!;
  return (startOf[last]! + blocksOf[last]! - startOf[order[from]!]!) * DB_BLOCK_BYTES;
}

/** The bytes of writeEncoded's buffers: those of its biggest run, up to ENCODED_WRITE_BYTES_MAX. */
function bufferBytes(order: ArrayLike<number>, runFrom: readonly number[], startOf: ArrayLike<number>, blocksOf: ArrayLike<number>): number {
  let most = 0;
  for (let r = 0; r + 1 < runFrom.length; r++) most = Math.max(most, runBytes(order, runFrom[r]!, runFrom[r + 1]!, startOf, blocksOf));
  return Math.min(most, ENCODED_WRITE_BYTES_MAX);
}

/**
 * Encodes the extents order[from] .. order[to - 1] into `buf`, which starts at block
 * `startBlock`, until `slice` is due before one: returns where it stopped (`to` when done).
 */
function encodeRun(order: ArrayLike<number>, from: number, to: number, startOf: ArrayLike<number>, startBlock: number, encode: ExtentEncoder, buf: Uint8Array, slice: LoopSlice | undefined): number {
  for (let i = from; i < to; i++) {
    if (i > from && slice?.due() === true) return i;
    const k = order[i]!;
    encode(k, buf, (startOf[k]! - startBlock) * DB_BLOCK_BYTES);
  }
  return to;
}

/** The blocks a freed marker writes over each extent: all of a small one, the first of a big one. */
function markerBlocks(blocks: ArrayLike<number>): Uint32Array {
  const written = new Uint32Array(blocks.length);
  for (let k = 0; k < blocks.length; k++) written[k] = blocks[k]! <= MARKER_ZERO_FILL_BLOCKS_MAX ? blocks[k]! : 1;
  return written;
}

export class DbState {
  private pendingHeader: { header: DbHeader; slot: number } | undefined;
  /** The other slot holds the same appliedLsn and count (writeHeader writes both; an interim header does not). */
  bothSlotsCurrent = false;
  /**
   * The images the last batch wrote and their index slots, while the index has not changed
   * since (`changes`): its read-back, which follows, takes the slots from here instead of
   * looking every id up again (image-readback.ts), and drops it.
   */
  lastBatch: { puts: ReadonlyArray<{ id: string }>; slots: Int32Array; changes: number } | undefined;

  constructor(
    readonly path: string,
    readonly handle: FileHandle,
    /** The current (durable) header. */
    public header: DbHeader,
    /** Which slot holds `header`; the next header goes to the other one. */
    public slot: number,
    readonly index: SessionIndex,
    readonly alloc: ExtentAllocator,
    /** Size of the file as far as this process wrote it. */
    public fileBytes: number,
  ) {}

  get salt(): number {
    return this.header.salt;
  }

  /**
   * Writes extents, merging extents that touch into one writev, up to WRITES_IN_FLIGHT_MAX
   * writevs at once. On a failure the writes in flight are waited for, then it throws.
   */
  async writeExtents(writes: readonly ExtentWrite[]): Promise<void> {
    const runs = coalesceExtents(writes);
    await boundedAll(runs.length, WRITES_IN_FLIGHT_MAX, (k) => this.write(runs[k]!.buffers, runs[k]!.start, runs[k]!.end));
  }

  /**
   * Writes extents that `encode` fills in place, `order` listing them by start block:
   * extents that touch are encoded side by side into one zeroed buffer of at most
   * ENCODED_WRITE_BYTES_MAX bytes (an extent bigger than that gets one of its own) and
   * written with one writev of one iovec, up to WRITES_IN_FLIGHT_MAX writevs at once. No
   * object per extent: the flush writes every image and freed marker this way. Each run is
   * encoded just before its write; with `slice`, each extent's encoding waits for a new
   * slice when the current one is used up. On a failure the writes in flight are waited for,
   * then it throws.
   */
  async writeEncoded(order: ArrayLike<number>, startOf: ArrayLike<number>, blocksOf: ArrayLike<number>, encode: ExtentEncoder, slice?: LoopSlice): Promise<void> {
    const runFrom = planRuns(order, startOf, blocksOf);
    // As big as the biggest run, up to the limit: a flush of a few sessions allocates a few blocks.
    const bufBytes = bufferBytes(order, runFrom, startOf, blocksOf);
    const spare: Uint8Array[] = [];
    await boundedAll(runFrom.length - 1, WRITES_IN_FLIGHT_MAX, async (r) => {
      const from = runFrom[r]!;
      const to = runFrom[r + 1]!;
      const startBlock = startOf[order[from]!]!;
      const bytes = runBytes(order, from, to, startOf, blocksOf);
      const endBlock = startBlock + bytes / DB_BLOCK_BYTES;
      const reuse = bytes <= bufBytes ? spare.pop() : undefined;
      const buf = reuse ?? new Uint8Array(Math.max(bytes, bufBytes));
      if (reuse !== undefined) buf.fill(0, 0, bytes);
      for (let i = from; i < to; ) {
        if (slice?.due() === true) await slice.next();
        i = encodeRun(order, i, to, startOf, startBlock, encode, buf, slice);
      }
      if (bytes <= SYNC_IO_BYTES_MAX && this.handle.writevSync !== undefined) this.writeSync(buf.subarray(0, bytes), startBlock, endBlock);
      else await this.write([buf.subarray(0, bytes)], startBlock, endBlock);
      if (buf.byteLength === bufBytes) spare.push(buf);
    });
  }

  /**
   * A freed marker over each extent `starts[k]`, `blocks[k]` (format.md §2.2), `order`
   * listing them by start. An extent of at most MARKER_ZERO_FILL_BLOCKS_MAX blocks is
   * zeroed past its marker, so the markers of extents that touch (a batch's sessions freed
   * together) share one writev instead of one each; a bigger one gets its first block only
   * (its marker and zeros).
   */
  async writeMarkersOf(starts: ArrayLike<number>, blocks: ArrayLike<number>, order: ArrayLike<number>, slice?: LoopSlice): Promise<void> {
    const salt = this.salt;
    await this.writeEncoded(order, starts, markerBlocks(blocks), (k, out, at) => encodeFreedMarkerInto(out, at, salt, blocks[k]!), slice);
  }

  /** writeMarkersOf of extent objects (the open's leftovers, compaction's sources). */
  async writeMarkers(extents: readonly Extent[]): Promise<void> {
    const starts = extents.map((e) => e.start);
    await this.writeMarkersOf(
      starts,
      extents.map((e) => e.blocks),
      orderByStart(starts),
    );
  }

  async sync(): Promise<void> {
    try {
      await this.handle.datasync();
    } catch (e) {
      throw ioError('datasync', this.path, e);
    }
  }

  /**
   * Writes the next header into the other slot and makes it durable; only then does the
   * in-memory header move. `endBlock` becomes freeOffset. Then the same header once more
   * into the slot that held the old one, durable too: both slots current, so damage to
   * either one later falls back to a header whose count of live images is exact
   * (db-census.ts). Otherwise the fallback counts one batch too few sessions, and the
   * sessions that batch created hide as many lost images, after any crash (corruption fuzz
   * seed 22). A crash between the two writes leaves the older header there: the slack of
   * an interrupted flush (docs/durability.md, Known limits).
   */
  async writeHeader(appliedLsn: number, endBlock: number): Promise<void> {
    for (let copy = 0; copy < 2; copy++) {
      await this.writeHeaderUnsynced(appliedLsn, endBlock, 0);
      await this.sync();
      this.commitHeader();
    }
    this.bothSlotsCurrent = true;
  }

  /**
   * The interim header of a batch that frees sessions (format.md §2.3): same appliedLsn,
   * the index's count, and how many sessions the batch is about to free, so an open after
   * a crash in the middle tolerates exactly that many missing images. The caller syncs,
   * then calls commitHeader.
   */
  async writeHeaderUnsynced(appliedLsn: number, endBlock: number, freeingImages: number): Promise<void> {
    const next: DbHeader = {
      ...this.header,
      headerSeq: this.header.headerSeq + 1,
      appliedLsn,
      freeOffset: endBlock * DB_BLOCK_BYTES,
      liveImages: this.index.size,
      freeingImages,
    };
    const slot = 1 - this.slot;
    await this.write([encodeDbHeader(next)], slot, slot + 1);
    this.pendingHeader = { header: next, slot };
  }

  /** The header written last is durable: it becomes current. */
  commitHeader(): void {
    assert(this.pendingHeader !== undefined, 'commitHeader without a header written');
    this.bothSlotsCurrent = false;
    this.header = this.pendingHeader.header;
    this.slot = this.pendingHeader.slot;
    this.pendingHeader = undefined;
  }

  async truncate(bytes: number): Promise<void> {
    try {
      await this.handle.truncate(bytes);
    } catch (e) {
      throw ioError('truncate', this.path, e);
    }
    this.fileBytes = bytes;
  }

  /** Reads `length` bytes at byte `position`; bytes past the end of the file read as zeros. */
  async read(position: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    await this.readInto(out, position, length);
    return out;
  }

  /** Reads `length` bytes at byte `position` into the start of `out` (reused by the caller); bytes past the end of the file read as zeros. */
  async readInto(out: Uint8Array, position: number, length: number): Promise<void> {
    let n: number;
    try {
      n = await this.handle.read(out, 0, length, position);
    } catch (e) {
      throw ioError('read', this.path, e);
    }
    if (n < length) out.fill(0, n, length);
  }

  /**
   * readInto on this thread (FileHandle.readSync) when the layer has it and the read is at
   * most SYNC_IO_BYTES_MAX; false (nothing read) otherwise: the caller then uses readInto.
   */
  readIntoSync(out: Uint8Array, position: number, length: number): boolean {
    if (length > SYNC_IO_BYTES_MAX || this.handle.readSync === undefined) return false;
    let n: number;
    try {
      n = this.handle.readSync(out, 0, length, position);
    } catch (e) {
      throw ioError('read', this.path, e);
    }
    if (n < length) out.fill(0, n, length);
    return true;
  }

  checkInvariants(): void {
    assert(this.slot === 0 || this.slot === 1, `bad header slot ${this.slot}`);
    const h = this.header;
    assert(Number.isSafeInteger(h.appliedLsn) && h.appliedLsn <= U64_MAX_SAFE, `bad appliedLsn ${h.appliedLsn}`);
    this.alloc.checkInvariants();
    this.index.checkInvariants();
    // Live extents and free extents, in block order, must tile [FIRST_DATA_BLOCK, endBlock) exactly.
    const starts: number[] = [];
    const lengths: number[] = [];
    this.index.forEach((_id, start, blocks) => {
      starts.push(start);
      lengths.push(blocks);
    });
    this.alloc.forEachFree((start, blocks) => {
      starts.push(start);
      lengths.push(-blocks);
    });
    const order = starts.map((_s, k) => k).sort((a, b) => starts[a]! - starts[b]!);
    let at = FIRST_DATA_BLOCK;
    for (const k of order) {
      const kind = lengths[k]! > 0 ? 'live' : 'free';
      assert(starts[k] === at, `${kind} extent at block ${starts[k]}: expected one at block ${at} (gap or overlap)`);
      at += Math.abs(lengths[k]!);
    }
    assert(at === this.alloc.endBlock, `extents end at block ${at}, endBlock is ${this.alloc.endBlock}`);
  }

  private async write(buffers: Uint8Array[], startBlock: number, endBlock: number): Promise<void> {
    assert(startBlock >= DB_HEADER_SLOTS || endBlock <= DB_HEADER_SLOTS, `write [${startBlock}, ${endBlock}) crosses the header`);
    try {
      await this.handle.writev(buffers, startBlock * DB_BLOCK_BYTES);
    } catch (e) {
      throw ioError('writev', this.path, e);
    }
    this.fileBytes = Math.max(this.fileBytes, endBlock * DB_BLOCK_BYTES);
  }

  /** write() on this thread (FileHandle.writevSync, which the caller checked is there). */
  private writeSync(data: Uint8Array, startBlock: number, endBlock: number): void {
    if (!(startBlock >= DB_HEADER_SLOTS)) assert(false, `write [${startBlock}, ${endBlock}) crosses the header`);
    try {
      this.handle.writevSync!([data], startBlock * DB_BLOCK_BYTES);
    } catch (e) {
      throw ioError('writev', this.path, e);
    }
    this.fileBytes = Math.max(this.fileBytes, endBlock * DB_BLOCK_BYTES);
  }
}
