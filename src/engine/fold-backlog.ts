/**
 * The log bytes not yet folded into the database file, and what bounds them (issue 8):
 * under a sustained write load a flusher that yields every `flushSliceMsMax` falls behind,
 * and everything it has not folded is what the next open must replay. Two measures:
 *
 * - the flusher's slice grows with the backlog, from `flushSliceMsMax` when it is empty to
 *   SLICE_GROWTH_MAX times that at `flushBacklogBytesMax`: at normal load the event-loop
 *   delay stays one short slice, under sustained load the flusher takes a larger share;
 * - at `flushBacklogBytesMax` a change waits (in call order) before it is appended until a
 *   flush cycle brings the backlog under it again. So the backlog never exceeds
 *   flushBacklogBytesMax plus the records of the changes let through at once when it drops
 *   (each at most one record of sessionBytesMax), whatever the load.
 *
 * - at `flushBacklogBytesMin` (the soft bound) a flush cycle is asked for at once, without
 *   waiting for the flusher's timer (flushIntervalMs): the timer bounds how long a change
 *   stays in the log only, this bounds how much of it there is at normal load.
 *
 * Bytes are counted when a change becomes visible (the cache's appliedLsn moves in the same
 * turn), so a flush cycle's snapshot of the count matches its snapshot of appliedLsn.
 */

/** The slice at the bound, as a multiple of flushSliceMsMax. */
export const SLICE_GROWTH_MAX = 16;

export class FoldBacklog {
  /** Record bytes made visible since the open (plus what the open left unfolded). */
  private applied: number;
  /** `applied` as of the last folded snapshot. */
  private folded = 0;
  private readonly waiters: Array<() => void> = [];
  /** Changes that waited for the backlog to drop (stats). */
  stalls = 0;
  /** A cycle was asked for at the soft bound and has not folded yet. */
  private softAsked = false;

  constructor(
    readonly bytesMax: number,
    /** Asks for a flush cycle (the flusher's flush()): called while changes wait, and at the soft bound. */
    private readonly requestFold: () => void,
    initialBytes = 0,
    /** The soft bound (flushBacklogBytesMin); Infinity: only the flusher's timer and the hard bound. */
    readonly bytesMin = Infinity,
  ) {
    this.applied = initialBytes;
  }

  get bytes(): number {
    return this.applied - this.folded;
  }

  /** A change of `bytes` log bytes is visible (SessionCache.apply / applyDelete). */
  noteApplied(bytes: number): void {
    this.applied += bytes;
    this.askAtSoftBound();
  }

  /**
   * At the soft bound, asks for one cycle until a cycle folds. Queued, not called: noteApplied
   * runs inside a write's commit, and the cycle's synchronous start (taking the dirty set,
   * its first slice) belongs after it.
   */
  private askAtSoftBound(): void {
    if (this.softAsked || this.bytes < this.bytesMin) return;
    this.softAsked = true;
    queueMicrotask(this.requestFold);
  }

  /** Taken with the flush cycle's snapshot of appliedLsn. */
  mark(): number {
    return this.applied;
  }

  /** The cycle that took `mark` is durable in the database file. */
  foldedTo(mark: number): void {
    if (mark <= this.folded) return;
    this.folded = mark;
    this.softAsked = false;
    // Nobody waits: one more cycle if as much again was applied while this one ran.
    if (this.waiters.length === 0) return this.askAtSoftBound();
    if (this.bytes < this.bytesMax) for (const w of this.waiters.splice(0)) w();
    else this.requestFold(); // folded less than was applied meanwhile: one more cycle
  }

  /** The flusher's slice for a cycle starting now. */
  sliceMs(baseMs: number): number {
    const fill = Math.min(1, this.bytes / this.bytesMax);
    return baseMs * (1 + (SLICE_GROWTH_MAX - 1) * fill);
  }

  /**
   * undefined when a change may be appended now; else a promise that resolves (in call
   * order) once the backlog is under the bound. While some wait, later changes wait too.
   */
  admit(): Promise<void> | undefined {
    if (this.bytes < this.bytesMax && this.waiters.length === 0) return undefined;
    this.stalls++;
    const p = new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.waiters.length === 1) this.requestFold();
    return p;
  }

  /** Lets every waiter go (close, failure): they then meet the store's own refusal. */
  releaseAll(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
