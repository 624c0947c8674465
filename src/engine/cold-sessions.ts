import { assert } from '../assert.js';
import { SessionArena } from './session-arena.js';

/**
 * Sessions not decoded in the cache (docs/memory.md), each in one of two places: on disk
 * only (evicted by the cache bound, or left there by an open under `cacheBytesMax`), or
 * packed: its image payload copied into the off-heap arena by an open without a bound, to
 * be decoded on first access (synchronously: reads never wait for it). What expiry,
 * the statistics and recovery need about them is kept here without their attributes, in
 * parallel typed arrays (50 bytes a session on top of the Map entry and its ID string, plus a
 * reference to its principal string),
 * so none of them has to be read back to be counted, expired or reported.
 */

export interface ColdSummary {
  /** LSN of the state the database file holds (the image's). */
  lsn: number;
  createdAtMs: number;
  lastAccessAtMs: number;
  /** effectiveExpiryMs of the state; Infinity when it never expires. */
  expiryMs: number;
  /** Length of the attribute blob (for the census and the cache's byte count on load). */
  attrChars: number;
  owner: string;
  /**
   * Whose session it is (format v3's principal field, '' = none): kept so the principal
   * index, sessionsOf and destroyAllOf work without loading the session.
   */
  principal: string;
}

const INITIAL_SLOTS = 1024;
/** Owners are few (one per server): the census reports them by name, slots hold an index. */
const OWNERS_MAX = 0xffff;

export class ColdSessions {
  private readonly slots = new Map<string, number>();
  private lsns = new Float64Array(INITIAL_SLOTS);
  private created = new Float64Array(INITIAL_SLOTS);
  private lastAccess = new Float64Array(INITIAL_SLOTS);
  private expiry = new Float64Array(INITIAL_SLOTS);
  private chars = new Uint32Array(INITIAL_SLOTS);
  private ownerOf = new Uint16Array(INITIAL_SLOTS);
  /** Principal of each slot ('' = none): one shared empty string for most stores. */
  private principalAt: string[] = [];
  /** Arena chunk of a packed session's payload; -1 when it is on disk only. */
  private chunkOf = new Int32Array(INITIAL_SLOTS);
  private offsetOf = new Uint32Array(INITIAL_SLOTS);
  private lengthOf = new Uint32Array(INITIAL_SLOTS);
  /** Where packed payloads live. */
  readonly arena = new SessionArena();
  private readonly owners: string[] = [];
  private readonly ownerIndex = new Map<string, number>();
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  /** Highest lastAccessAtMs ever added (recovery's clock floor). */
  lastAccessMaxMs = 0;

  get size(): number {
    return this.slots.size;
  }

  has(id: string): boolean {
    return this.slots.has(id);
  }

  /** Adds or replaces the summary of `id`; with `payload`, a copy of it is packed in the arena. */
  set(id: string, s: ColdSummary, payload?: Uint8Array): void {
    let slot = this.slots.get(id);
    if (slot === undefined) {
      slot = this.takeSlot();
      this.slots.set(id, slot);
    } else {
      this.unpackSlot(slot);
    }
    if (payload !== undefined) {
      this.chunkOf[slot] = this.arena.add(payload);
      this.offsetOf[slot] = this.arena.lastOffset;
      this.lengthOf[slot] = payload.byteLength;
    } else {
      this.chunkOf[slot] = -1;
    }
    this.lsns[slot] = s.lsn;
    this.created[slot] = s.createdAtMs;
    this.lastAccess[slot] = s.lastAccessAtMs;
    this.expiry[slot] = s.expiryMs;
    this.chars[slot] = s.attrChars;
    this.ownerOf[slot] = this.ownerSlot(s.owner);
    this.principalAt[slot] = s.principal;
    if (s.lastAccessAtMs > this.lastAccessMaxMs) this.lastAccessMaxMs = s.lastAccessAtMs;
  }

  delete(id: string): boolean {
    const slot = this.slots.get(id);
    if (slot === undefined) return false;
    this.unpackSlot(slot);
    this.slots.delete(id);
    this.principalAt[slot] = '';
    this.freeSlots.push(slot);
    return true;
  }

  /**
   * The packed payload of `id` (a PUT payload) and its lsn, or undefined when it is on disk
   * only or not cold. A view into the arena: decode it before deleting the entry.
   */
  packed(id: string): { data: Buffer; lsn: number } | undefined {
    const slot = this.slots.get(id);
    if (slot === undefined || this.chunkOf[slot] === -1) return undefined;
    return { data: this.arena.view(this.chunkOf[slot]!, this.offsetOf[slot]!, this.lengthOf[slot]!), lsn: this.lsns[slot]! };
  }

  private unpackSlot(slot: number): void {
    const c = this.chunkOf[slot]!;
    if (c === -1) return;
    this.arena.release(c, this.lengthOf[slot]!);
    this.chunkOf[slot] = -1;
  }

  /** The summary of `id`, or undefined when it is not cold. */
  get(id: string): ColdSummary | undefined {
    const slot = this.slots.get(id);
    return slot === undefined ? undefined : this.summaryAt(slot);
  }

  /** effectiveExpiryMs of a cold session; undefined when it is not cold. */
  expiryOf(id: string): number | undefined {
    const slot = this.slots.get(id);
    return slot === undefined ? undefined : this.expiry[slot]!;
  }

  /** The principal of a cold session ('' = none); undefined when it is not cold. */
  principalOf(id: string): string | undefined {
    const slot = this.slots.get(id);
    return slot === undefined ? undefined : this.principalAt[slot]!;
  }

  /** Every cold session with a principal (the principal index's rebuild). */
  forEachPrincipal(fn: (id: string, principal: string) => void): void {
    for (const [id, slot] of this.slots) {
      const p = this.principalAt[slot]!;
      if (p !== '') fn(id, p);
    }
  }

  lsnOf(id: string): number | undefined {
    const slot = this.slots.get(id);
    return slot === undefined ? undefined : this.lsns[slot]!;
  }

  /** IDs, in insertion order; survives deletes made between steps (a Map iterator). */
  ids(): IterableIterator<string> {
    return this.slots.keys();
  }

  /** Every entry, without allocating per entry. Do not add to the set from `fn`. */
  forEach(fn: (id: string, expiryMs: number, createdAtMs: number, attrChars: number, owner: string) => void): void {
    for (const [id, slot] of this.slots) fn(id, this.expiry[slot]!, this.created[slot]!, this.chars[slot]!, this.owners[this.ownerOf[slot]!]!);
  }

  /**
   * forEach in slices of `sliceMax` entries, yielding to the event loop between them (the
   * statistics scan must never block requests). Entries added or deleted meanwhile may or
   * may not be visited, as with any Map iterator.
   */
  async forEachSliced(sliceMax: number, fn: (id: string, expiryMs: number, createdAtMs: number, attrChars: number, owner: string) => void): Promise<void> {
    let n = 0;
    for (const [id, slot] of this.slots) {
      if (++n % sliceMax === 0) await new Promise<void>((r) => setImmediate(r));
      fn(id, this.expiry[slot]!, this.created[slot]!, this.chars[slot]!, this.owners[this.ownerOf[slot]!]!);
    }
  }

  checkInvariants(): void {
    const free = new Set(this.freeSlots);
    for (const [id, slot] of this.slots) assert(slot < this.nextSlot && !free.has(slot), `cold slot ${slot} of ${id} is not in use`);
    assert(this.slots.size + this.freeSlots.length === this.nextSlot, 'cold slots leak');
  }

  private summaryAt(slot: number): ColdSummary {
    return {
      lsn: this.lsns[slot]!,
      createdAtMs: this.created[slot]!,
      lastAccessAtMs: this.lastAccess[slot]!,
      expiryMs: this.expiry[slot]!,
      attrChars: this.chars[slot]!,
      owner: this.owners[this.ownerOf[slot]!]!,
      principal: this.principalAt[slot]!,
    };
  }

  private ownerSlot(owner: string): number {
    let i = this.ownerIndex.get(owner);
    if (i === undefined) {
      // More owners than a u16 holds is beyond any deployment: count them under the last one.
      i = Math.min(this.owners.length, OWNERS_MAX);
      if (i === this.owners.length) {
        this.owners.push(owner);
        this.ownerIndex.set(owner, i);
      }
    }
    return i;
  }

  private takeSlot(): number {
    const reused = this.freeSlots.pop();
    if (reused !== undefined) return reused;
    if (this.nextSlot === this.lsns.length) this.grow();
    return this.nextSlot++;
  }

  private grow(): void {
    const n = this.lsns.length * 2;
    this.lsns = grown(this.lsns, n);
    this.created = grown(this.created, n);
    this.lastAccess = grown(this.lastAccess, n);
    this.expiry = grown(this.expiry, n);
    this.chars = grown(this.chars, n);
    this.ownerOf = grown(this.ownerOf, n);
    this.chunkOf = grown(this.chunkOf, n);
    this.offsetOf = grown(this.offsetOf, n);
    this.lengthOf = grown(this.lengthOf, n);
  }
}

function grown<T extends Float64Array | Uint32Array | Uint16Array | Int32Array>(from: T, n: number): T {
  const to = new (from.constructor as new (n: number) => T)(n);
  to.set(from);
  return to;
}
