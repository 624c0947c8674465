/**
 * id → where the session's image lives. Millions of entries, so no object per session:
 * the Map holds a slot number and the fields sit in parallel typed arrays (about 24 bytes
 * a session on top of the Map entry and its id string).
 */

import { assert } from '../assert.js';

export interface IndexEntry {
  /** First block of the extent. */
  startBlock: number;
  extentBlocks: number;
  lsn: number;
  /** Bytes of the image itself (head, data, crc), for stats. */
  imageBytes: number;
}

const INITIAL_SLOTS = 1024;

export class SessionIndex {
  private readonly slots = new Map<string, number>();
  private starts = new Float64Array(INITIAL_SLOTS);
  private blocks = new Uint32Array(INITIAL_SLOTS);
  private lsns = new Float64Array(INITIAL_SLOTS);
  private bytes = new Uint32Array(INITIAL_SLOTS);
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  private allocated = 0;
  private imageTotal = 0;
  private changeCount = 0;
  /** Highest lsn of any entry; undefined when a removal may have lowered it (recomputed lazily). */
  private maxLsnCache: number | undefined = 0;

  /** Grows with every change to any entry: a slot looked up while it stays the same still holds its id. */
  get changes(): number {
    return this.changeCount;
  }

  get size(): number {
    return this.slots.size;
  }

  /** Sum of extentBlocks over every entry. */
  get allocatedBlocks(): number {
    return this.allocated;
  }

  /** Sum of imageBytes over every entry. */
  get liveImageBytes(): number {
    return this.imageTotal;
  }

  has(id: string): boolean {
    return this.slots.has(id);
  }

  /** The slot of `id` for the *At accessors, -1 when absent (no allocation: the scan's hot path). */
  slotOf(id: string): number {
    return this.slots.get(id) ?? -1;
  }

  startAt(slot: number): number {
    return this.starts[slot]!;
  }

  lsnAt(slot: number): number {
    return this.lsns[slot]!;
  }

  extentBlocksAt(slot: number): number {
    return this.blocks[slot]!;
  }

  imageBytesAt(slot: number): number {
    return this.bytes[slot]!;
  }

  get(id: string): IndexEntry | undefined {
    const slot = this.slots.get(id);
    return slot === undefined ? undefined : this.entryAt(slot);
  }

  startBlockOf(id: string): number | undefined {
    const slot = this.slots.get(id);
    return slot === undefined ? undefined : this.starts[slot]!;
  }

  /** Adds an id known to be absent (slotOf said -1); returns its slot. The scan's hot path: one Map write. */
  insert(id: string, e: IndexEntry): number {
    return this.add(id, e.startBlock, e.extentBlocks, e.lsn, e.imageBytes);
  }

  /** insert() without an entry object (the flusher's path for a new session). */
  add(id: string, startBlock: number, extentBlocks: number, lsn: number, imageBytes: number): number {
    const slot = this.takeSlot();
    this.slots.set(id, slot);
    this.fill(slot, startBlock, extentBlocks, lsn, imageBytes);
    return slot;
  }

  /**
   * Replaces the entry in `slot` (a slot in use, from slotOf): set() without a Map look-up
   * or an entry object (the flusher's path for a rewritten session, whose slot its batch
   * check already looked up).
   */
  replaceAt(slot: number, startBlock: number, extentBlocks: number, lsn: number, imageBytes: number): void {
    if (!(slot >= 0 && slot < this.nextSlot)) assert(false, `index slot ${slot} is not in use`);
    const previousLsn = this.lsns[slot]!;
    this.allocated -= this.blocks[slot]!;
    this.imageTotal -= this.bytes[slot]!;
    if (lsn < previousLsn) this.forgetLsn(previousLsn);
    this.fill(slot, startBlock, extentBlocks, lsn, imageBytes);
  }

  /** Sets the entry of `id`; returns the one it replaced. */
  set(id: string, e: IndexEntry): IndexEntry | undefined {
    let slot = this.slots.get(id);
    let previous: IndexEntry | undefined;
    if (slot === undefined) {
      slot = this.takeSlot();
      this.slots.set(id, slot);
    } else {
      previous = this.entryAt(slot);
      this.allocated -= previous.extentBlocks;
      this.imageTotal -= previous.imageBytes;
    }
    if (previous !== undefined && e.lsn < previous.lsn) this.forgetLsn(previous.lsn);
    this.fill(slot, e.startBlock, e.extentBlocks, e.lsn, e.imageBytes);
    return previous;
  }

  private fill(slot: number, startBlock: number, extentBlocks: number, lsn: number, imageBytes: number): void {
    if (!(extentBlocks >= 1 && imageBytes >= 1)) assert(false, `bad index entry at slot ${slot}`); // no message built per entry
    this.changeCount++;
    this.starts[slot] = startBlock;
    this.blocks[slot] = extentBlocks;
    this.lsns[slot] = lsn;
    this.bytes[slot] = imageBytes;
    this.allocated += extentBlocks;
    this.imageTotal += imageBytes;
    if (this.maxLsnCache !== undefined) this.maxLsnCache = Math.max(this.maxLsnCache, lsn);
  }

  delete(id: string): IndexEntry | undefined {
    const slot = this.slots.get(id);
    if (slot === undefined) return undefined;
    const previous = this.entryAt(slot);
    this.slots.delete(id);
    this.changeCount++;
    this.freeSlots.push(slot);
    this.allocated -= previous.extentBlocks;
    this.imageTotal -= previous.imageBytes;
    this.forgetLsn(previous.lsn);
    return previous;
  }

  /** Every entry, without allocating per entry. Do not mutate the index from `fn`. */
  forEach(fn: (id: string, startBlock: number, extentBlocks: number, lsn: number) => void): void {
    for (const [id, slot] of this.slots) fn(id, this.starts[slot]!, this.blocks[slot]!, this.lsns[slot]!);
  }

  /** Highest lsn of any entry, 0 when empty. */
  maxLsn(): number {
    this.maxLsnCache ??= this.computeMaxLsn();
    return this.maxLsnCache;
  }

  checkInvariants(): void {
    let blocks = 0;
    let bytes = 0;
    const free = new Set(this.freeSlots);
    for (const [id, slot] of this.slots) {
      assert(slot < this.nextSlot && !free.has(slot), `index slot ${slot} of ${id} is not in use`);
      assert(Number.isSafeInteger(this.lsns[slot]!), `lsn of ${id} is not a safe integer`);
      blocks += this.blocks[slot]!;
      bytes += this.bytes[slot]!;
    }
    assert(this.slots.size + this.freeSlots.length === this.nextSlot, 'index slots leak');
    assert(blocks === this.allocated && bytes === this.imageTotal, 'index totals drifted');
    assert(this.maxLsnCache === undefined || this.maxLsnCache === this.computeMaxLsn(), 'cached max lsn is wrong');
  }

  private computeMaxLsn(): number {
    let max = 0;
    for (const slot of this.slots.values()) max = Math.max(max, this.lsns[slot]!);
    return max;
  }

  private forgetLsn(lsn: number): void {
    if (lsn === this.maxLsnCache) this.maxLsnCache = this.slots.size === 0 ? 0 : undefined;
  }

  private entryAt(slot: number): IndexEntry {
    return {
      startBlock: this.starts[slot]!,
      extentBlocks: this.blocks[slot]!,
      lsn: this.lsns[slot]!,
      imageBytes: this.bytes[slot]!,
    };
  }

  private takeSlot(): number {
    const reused = this.freeSlots.pop();
    if (reused !== undefined) return reused;
    if (this.nextSlot === this.starts.length) this.grow();
    return this.nextSlot++;
  }

  private grow(): void {
    const n = this.starts.length * 2;
    this.starts = copyInto(new Float64Array(n), this.starts);
    this.blocks = copyInto(new Uint32Array(n), this.blocks);
    this.lsns = copyInto(new Float64Array(n), this.lsns);
    this.bytes = copyInto(new Uint32Array(n), this.bytes);
  }
}

function copyInto<T extends Float64Array | Uint32Array>(to: T, from: T): T {
  to.set(from);
  return to;
}
