/**
 * The free list of the database file, in blocks: free extents inside the file, sorted by
 * start and coalesced, plus `endBlock` (the header's freeOffset / 512), where the free
 * space at the end begins. A free extent never touches endBlock: trailing free blocks
 * shrink endBlock instead.
 *
 * The allocator only does arithmetic. When blocks may join it is the caller's business
 * (docs/format.md §2.3: only after their freed marker is durable).
 */

import { assert } from '../assert.js';
import { DB_HEADER_SLOTS } from '../format/constants.js';
import { orderByStart } from './extent-order.js';

export const FIRST_DATA_BLOCK = DB_HEADER_SLOTS;

/** releaseMany of this few extents splices them in one at a time (no new arrays). */
const RELEASE_ONE_BY_ONE_MAX = 16;

export interface Extent {
  start: number;
  blocks: number;
}

export class ExtentAllocator {
  // Parallel arrays rather than an object per extent: the list can get long.
  private starts: number[] = [];
  private lengths: number[] = [];
  private free = 0;

  constructor(private end: number = FIRST_DATA_BLOCK) {
    assert(Number.isSafeInteger(end) && end >= FIRST_DATA_BLOCK, `bad end block ${end}`);
  }

  /** Where the free space at the end of the file begins. */
  get endBlock(): number {
    return this.end;
  }

  get freeBlocks(): number {
    return this.free;
  }

  get freeExtents(): number {
    return this.starts.length;
  }

  /** Start of the lowest free extent, or endBlock when the list is empty. */
  get lowestFreeBlock(): number {
    return this.starts[0] ?? this.end;
  }

  /** First fit from the free list; else at the end (which grows). */
  allocate(blocks: number): number {
    const at = this.allocateBelow(blocks, this.end);
    if (at >= 0) return at;
    const start = this.end;
    this.end += blocks;
    return start;
  }

  /** First fit among free extents, the new extent ending at or before `limit`; -1 when none fits. */
  allocateBelow(blocks: number, limit: number): number {
    if (!(Number.isSafeInteger(blocks) && blocks >= 1)) assert(false, `bad allocation size ${blocks}`); // no message built per image
    for (let i = 0; i < this.starts.length; i++) {
      const start = this.starts[i]!;
      if (start + blocks > limit) return -1;
      const length = this.lengths[i]!;
      if (length < blocks) continue;
      if (length === blocks) {
        this.starts.splice(i, 1);
        this.lengths.splice(i, 1);
      } else {
        this.starts[i] = start + blocks;
        this.lengths[i] = length - blocks;
      }
      this.free -= blocks;
      return start;
    }
    return -1;
  }

  /** Returns an extent: coalesced with its neighbours; trailing free blocks shrink the end. */
  release(start: number, blocks: number): void {
    // Once per freed extent: a message is built only when a check fails.
    if (!(Number.isSafeInteger(blocks) && blocks >= 1)) assert(false, `bad release size ${blocks}`);
    if (!(start >= FIRST_DATA_BLOCK && start + blocks <= this.end)) assert(false, `release [${start}, +${blocks}) outside the file`);
    const i = this.upperBound(start);
    const prevEnd = i > 0 ? this.starts[i - 1]! + this.lengths[i - 1]! : -1;
    if (!(prevEnd <= start && (i === this.starts.length || start + blocks <= this.starts[i]!))) assert(false, `release [${start}, +${blocks}) overlaps a free extent`);
    this.free += blocks;
    let s = start;
    let n = blocks;
    let at = i;
    if (prevEnd === start) {
      at = i - 1;
      s = this.starts[at]!;
      n += this.lengths[at]!;
      this.starts.splice(at, 1);
      this.lengths.splice(at, 1);
    }
    if (at < this.starts.length && this.starts[at] === s + n) {
      n += this.lengths[at]!;
      this.starts.splice(at, 1);
      this.lengths.splice(at, 1);
    }
    if (s + n === this.end) {
      this.end = s;
      this.free -= n;
    } else {
      this.starts.splice(at, 0, s);
      this.lengths.splice(at, 0, n);
    }
  }

  /**
   * release() of every extent starts[order[j]], blocks[order[j]] (`order`: by start, as
   * orderByStart gives it), with the same checks and the same result, in one pass that
   * merges them into the free list: a flush that replaces images frees one extent per
   * image, scattered, and one splice into the middle of a long list each cost a move of
   * half the list (O(freed x free)).
   */
  releaseMany(starts: ArrayLike<number>, blocks: ArrayLike<number>, order: ArrayLike<number>): void {
    if (order.length <= RELEASE_ONE_BY_ONE_MAX) {
      for (let j = 0; j < order.length; j++) this.release(starts[order[j]!]!, blocks[order[j]!]!);
      return;
    }
    const oldStarts = this.starts;
    const oldLengths = this.lengths;
    const outStarts: number[] = [];
    const outLengths: number[] = [];
    let outEnd = -1; // end of the last extent in out
    const append = (s: number, n: number): void => {
      if (s === outEnd) outLengths[outLengths.length - 1]! += n;
      else {
        outStarts.push(s);
        outLengths.push(n);
      }
      outEnd = s + n;
    };
    let i = 0;
    for (let j = 0; j < order.length; j++) {
      const start = starts[order[j]!]!;
      const n = blocks[order[j]!]!;
      if (!(Number.isSafeInteger(n) && n >= 1)) assert(false, `bad release size ${n}`);
      if (!(start >= FIRST_DATA_BLOCK && start + n <= this.end)) assert(false, `release [${start}, +${n}) outside the file`);
      while (i < oldStarts.length && oldStarts[i]! <= start) append(oldStarts[i]!, oldLengths[i++]!);
      if (!(outEnd <= start && (i === oldStarts.length || start + n <= oldStarts[i]!))) assert(false, `release [${start}, +${n}) overlaps a free extent`);
      append(start, n);
      this.free += n;
    }
    while (i < oldStarts.length) append(oldStarts[i]!, oldLengths[i++]!);
    // Free blocks that now reach the end shrink it (only the last extent can: they are coalesced).
    if (outEnd === this.end) {
      this.end = outStarts.pop()!;
      this.free -= outLengths.pop()!;
    }
    this.starts = outStarts;
    this.lengths = outLengths;
  }

  /**
   * The endBlock once `extents` (allocated now, not free) are released, without releasing
   * them: the header written before a release already states the shrunk end.
   */
  endAfterRelease(extents: readonly Extent[]): number {
    const starts = extents.map((e) => e.start);
    return this.endAfterReleaseOf(
      starts,
      extents.map((e) => e.blocks),
      orderByStart(starts),
    );
  }

  /**
   * endAfterRelease of the extents `starts[k]`, `blocks[k]`, `order` listing them by start:
   * walks down from the end through whichever of them, or of the free extents, ends where
   * the walk stands (they are disjoint, so only the highest one left of each can).
   */
  endAfterReleaseOf(starts: ArrayLike<number>, blocks: ArrayLike<number>, order: ArrayLike<number>): number {
    let end = this.end;
    let released = order.length - 1;
    let last = this.starts.length - 1;
    for (;;) {
      const k = released >= 0 ? order[released]! : -1;
      if (k >= 0 && starts[k]! + blocks[k]! === end) {
        end = starts[k]!;
        released--;
      } else if (last >= 0 && this.starts[last]! + this.lengths[last]! === end) {
        end = this.starts[last--]!;
      } else {
        return end;
      }
    }
  }

  /** Every free extent, lowest first. */
  forEachFree(fn: (start: number, blocks: number) => void): void {
    for (let i = 0; i < this.starts.length; i++) fn(this.starts[i]!, this.lengths[i]!);
  }

  checkInvariants(): void {
    let prevEnd = FIRST_DATA_BLOCK - 1;
    let total = 0;
    for (let i = 0; i < this.starts.length; i++) {
      const s = this.starts[i]!;
      const n = this.lengths[i]!;
      assert(Number.isSafeInteger(s) && Number.isSafeInteger(n) && n >= 1, `free extent ${i} malformed`);
      assert(s >= FIRST_DATA_BLOCK, `free extent ${i} starts in the header blocks`);
      assert(s > prevEnd, `free list not sorted and coalesced at extent ${i} (block ${s})`);
      prevEnd = s + n;
      total += n;
    }
    assert(prevEnd < this.end, `a free extent touches or passes endBlock ${this.end}`);
    assert(total === this.free, `free block count ${this.free} != ${total}`);
  }

  /** Index of the first free extent starting after `start`. */
  private upperBound(start: number): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid]! <= start) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
