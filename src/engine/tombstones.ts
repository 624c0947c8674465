/**
 * Destroyed session IDs, remembered for `tombstoneMs` so that a save from a request that
 * was in flight at logout cannot bring the session back. Bounded by `tombstonesMax`:
 * the oldest are forgotten first (a Map iterates in insertion order, and IDs are added in
 * time order: the engine's clock never goes back).
 *
 * A tombstone is durable once its TOMBSTONE record is (confirm); only durable ones are
 * carried into the tombstone file before a log is reset (docs/format.md §5), so a restart
 * within `tombstoneMs` still refuses the late save.
 */
export class Tombstones {
  /** id → destroyedAtMs */
  private readonly destroyedAtMs = new Map<string, number>();
  /** IDs whose record is not durable yet. */
  private readonly pending = new Set<string>();
  /** Grows with every durable tombstone added: the tombstone file is rewritten only when it moved. */
  changes = 0;

  constructor(
    private readonly tombstoneMs: number,
    private readonly tombstonesMax: number,
  ) {}

  get enabled(): boolean {
    return this.tombstonesMax > 0 && this.tombstoneMs > 0;
  }

  /** A destroy began: refuse saves at once; durable once confirmed. */
  add(id: string, nowMs: number): void {
    if (!this.enabled) return;
    this.pending.add(id);
    this.set(id, nowMs);
  }

  /** The destroy's record is durable. */
  confirm(id: string): void {
    if (this.pending.delete(id)) this.changes++;
  }

  /** A tombstone read back from the store's files (recovery), oldest first. */
  restore(id: string, destroyedAtMs: number, nowMs: number): void {
    if (!this.enabled || destroyedAtMs + this.tombstoneMs <= nowMs) return;
    this.set(id, destroyedAtMs);
  }

  private set(id: string, atMs: number): void {
    this.destroyedAtMs.delete(id);
    this.destroyedAtMs.set(id, atMs);
    while (this.destroyedAtMs.size > this.tombstonesMax) {
      const oldest = this.destroyedAtMs.keys().next().value as string;
      this.destroyedAtMs.delete(oldest);
      this.pending.delete(oldest);
    }
  }

  has(id: string, nowMs: number): boolean {
    // Every save asks (twice through sessiond serve's SET): no hashing while there are none.
    if (this.destroyedAtMs.size === 0) return false;
    const at = this.destroyedAtMs.get(id);
    if (at === undefined) return false;
    if (at + this.tombstoneMs > nowMs) return true;
    this.destroyedAtMs.delete(id);
    this.pending.delete(id);
    return false;
  }

  /**
   * Forgets the tombstone of `id`; true if there was one. Needs nothing durable: the save
   * that follows is logged after the TOMBSTONE record, and a recovered session wins over
   * its tombstone (recovery.ts); if no save follows, a restart restores the tombstone.
   */
  forget(id: string): boolean {
    this.pending.delete(id);
    return this.destroyedAtMs.delete(id);
  }

  /** Drops expired tombstones, oldest first, examining at most `max`. */
  sweep(nowMs: number, max: number): void {
    let n = 0;
    for (const [id, at] of this.destroyedAtMs) {
      if (n++ >= max || at + this.tombstoneMs > nowMs) break;
      this.destroyedAtMs.delete(id);
      this.pending.delete(id);
    }
  }

  /** Durable, unexpired tombstones, oldest first: what the tombstone file must hold. */
  *durable(nowMs: number): IterableIterator<[string, number]> {
    for (const [id, at] of this.destroyedAtMs) {
      if (at + this.tombstoneMs > nowMs && !this.pending.has(id)) yield [id, at];
    }
  }

  get size(): number {
    return this.destroyedAtMs.size;
  }
}
