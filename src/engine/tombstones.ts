/**
 * Destroyed session IDs, remembered for `tombstoneMs` so that a save from a request that
 * was in flight at logout cannot bring the session back. Bounded by `tombstonesMax`:
 * the oldest are forgotten first (a Map iterates in insertion order).
 */
export class Tombstones {
  private readonly untilMs = new Map<string, number>();

  constructor(
    private readonly tombstoneMs: number,
    private readonly tombstonesMax: number,
  ) {}

  add(id: string, nowMs: number): void {
    if (this.tombstonesMax === 0 || this.tombstoneMs === 0) return;
    this.untilMs.delete(id);
    this.untilMs.set(id, nowMs + this.tombstoneMs);
    while (this.untilMs.size > this.tombstonesMax) {
      const oldest = this.untilMs.keys().next().value as string;
      this.untilMs.delete(oldest);
    }
  }

  has(id: string, nowMs: number): boolean {
    const until = this.untilMs.get(id);
    if (until === undefined) return false;
    if (until > nowMs) return true;
    this.untilMs.delete(id);
    return false;
  }

  /** Forgets the tombstone of `id`; true if there was one. */
  forget(id: string): boolean {
    return this.untilMs.delete(id);
  }

  /** Drops expired tombstones, oldest first, examining at most `max`. */
  sweep(nowMs: number, max: number): void {
    let n = 0;
    for (const [id, until] of this.untilMs) {
      if (n++ >= max || until > nowMs) break;
      this.untilMs.delete(id);
    }
  }

  get size(): number {
    return this.untilMs.size;
  }
}
