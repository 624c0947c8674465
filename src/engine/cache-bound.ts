import { assert } from '../assert.js';
import type { SessionDatabase } from './session-database.js';
import type { SessionCache } from './session-cache.js';
import { decodeCold } from './bounded-reads.js';
import { summarizeState } from '../session/image-summary.js';
import type { Encryption } from '../session/attr-seal.js';

/** Eviction goes down to this fraction of cacheBytesMax, so it runs in batches, not per save. */
export const EVICT_LOW_WATER = 0.9;
/** Most loaded sessions one eviction pass examines (bounds its time on the event loop). */
export const EVICT_SCAN_MAX = 20_000;

/** A wait for a cold session's load; call `done()` right where the waiter resumes. */
export interface LoadWait {
  promise: Promise<void>;
  done(): void;
}

/**
 * The memory bound of the cache (SPEC E5, `cacheBytesMax`, docs/memory.md): evicts the
 * least recently used sessions that the database file holds at their current LSN, and
 * loads a cold session back with one positioned read when it is needed.
 *
 * Order: every operation on a session that is cold, or whose load is in flight, waits for
 * the one load and resumes in call order; the load's entry stays until the last of those
 * waiters has resumed, so a later call can never overtake an earlier one (the log keeps
 * each session's changes in call order).
 */
export class CacheBound {
  private readonly loads = new Map<string, { promise: Promise<void>; waiters: number }>();
  private scheduled: ReturnType<typeof setImmediate> | undefined;
  private stopped = false;
  /** Sessions an operation needs loaded across awaits (rekey): never evicted meanwhile. */
  private readonly pinned = new Map<string, number>();
  loaded = 0;
  evicted = 0;
  /** Asks the flusher for a cycle (engine-pipeline.ts): a pass left the cache over its bound with changed sessions in it. */
  requestFlush: (() => void) | undefined;

  constructor(
    private readonly cache: SessionCache,
    private readonly db: Required<Pick<SessionDatabase, 'imageLsnOf' | 'readImage'>>,
    readonly cacheBytesMax: number,
    /** Opens sealed attributes of the images read back (docs/format.md §3.7). */
    private readonly encryption?: Encryption,
  ) {
    assert(cacheBytesMax > 0, 'CacheBound needs a bound');
    cache.visible.ordered = true;
  }

  /** undefined when `id` is loaded (or absent) and no load of it is in flight: go on at once. */
  ensure(id: string): LoadWait | undefined {
    let l = this.loads.get(id);
    if (l === undefined) {
      if (!this.cache.cold.has(id)) return undefined;
      l = { promise: this.load(id), waiters: 0 };
      this.loads.set(id, l);
    }
    l.waiters++;
    const entry = l;
    return {
      promise: entry.promise,
      done: () => {
        if (--entry.waiters === 0 && this.loads.get(id) === entry) this.loads.delete(id);
      },
    };
  }

  private async load(id: string): Promise<void> {
    const lsn = this.cache.cold.lsnOf(id);
    const img = await this.db.readImage(id);
    // Reclaimed (expired) while the read was in flight: absent now.
    if (!this.cache.cold.has(id)) return;
    // Invariant: a cold session's image is the state it was evicted at (never written while cold).
    assert(img !== undefined && img.lsn === lsn, `cold session image lsn ${img?.lsn} is not its evicted lsn ${lsn}`);
    const s = decodeCold(img.data, id, img.lsn, this.encryption);
    this.cache.cold.delete(id);
    this.cache.visible.set(id, s);
    this.loaded++;
    this.schedule();
  }

  /** Runs an eviction pass soon when the cache is over its bound (coalesced). */
  schedule(): void {
    if (this.scheduled !== undefined || this.stopped || this.cache.visible.bytes <= this.cacheBytesMax) return;
    this.scheduled = setImmediate(() => {
      this.scheduled = undefined;
      if (this.evict() === EVICT_SCAN_MAX) this.schedule();
    });
  }

  /**
   * One bounded pass from the coldest end: evicts sessions whose image the database holds
   * at their LSN and that have no change waiting for its fsync. Returns how many it examined.
   */
  evict(): number {
    const { visible, cold } = this.cache;
    if (visible.bytes <= this.cacheBytesMax) return 0;
    const target = this.cacheBytesMax * EVICT_LOW_WATER;
    let examined = 0;
    let unwritten = 0;
    for (const [id, s] of visible) {
      if (visible.bytes <= target || examined >= EVICT_SCAN_MAX) break;
      examined++;
      if (this.cache.hasPending(id) || this.pinned.has(id)) continue;
      // Dirty: the flusher has yet to write it (rekey marks sessions dirty at their lsn).
      if (this.cache.isDirty(id) || this.db.imageLsnOf(id) !== s.lsn) {
        unwritten++;
        continue;
      }
      visible.delete(id);
      cold.set(id, summarizeState(s));
      this.evicted++;
    }
    // Still over after looking at every session: only a flush cycle can free more (its end
    // schedules the next pass). Not when nothing is dirty: a cycle would change nothing.
    if (examined < EVICT_SCAN_MAX && unwritten > 0 && visible.bytes > this.cacheBytesMax && this.cache.dirtyCount > 0) this.requestFlush?.();
    return examined;
  }

  /** Keeps `id` loaded until as many unpin calls (an operation that awaits with it loaded). */
  pin(id: string): void {
    this.pinned.set(id, (this.pinned.get(id) ?? 0) + 1);
  }

  unpin(id: string): void {
    const n = this.pinned.get(id) ?? 0;
    if (n <= 1) this.pinned.delete(id);
    else this.pinned.set(id, n - 1);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
  }
}
