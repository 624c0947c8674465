import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { assert, AssertionError } from '../assert.js';
import type { SessionDatabase } from './session-database.js';
import type { SessiondError } from '../errors.js';
import { isExpired } from '../session/session-state.js';
import { writeSessions } from './write-sessions.js';
import type { Encryption } from '../session/attr-seal.js';
import type { SessionCache } from './session-cache.js';
import { LoopSlice } from '../util/loop-slice.js';
import type { FoldBacklog } from './fold-backlog.js';
import type { SessionToWrite } from './write-sessions.js';
import type { CacheEntry } from './loaded-sessions.js';

/**
 * The flushing task (claim 14i): moves changed sessions from the cache into the database
 * file in the background, then lets the log writer reset a swapped-out log once every
 * record in it is durable in the file (claim 7).
 */

export interface FlusherDeps {
  cache: SessionCache;
  db: SessionDatabase;
  now: () => number;
  /** Starts a periodic timer (the engine's clock's); returns its cancel function. */
  every: (fn: () => void, ms: number) => () => void;
  flushIntervalMs: number;
  flushBatchBytesMax: number;
  /** Longest the encoding loops run, on `now`'s clock, before yielding an event-loop turn (LoopSlice). */
  flushSliceMsMax: number;
  /**
   * Makes every log record written so far durable. Runs before each database batch, whose
   * images may come from records acknowledged but not yet synced ('interval', 'none'):
   * without it a power loss could keep the image and lose an earlier record (a hole).
   */
  syncLog: () => Promise<void>;
  /** Resets a swapped-out log; called once the file holds everything up to its last LSN. */
  releaseLog: (logIndex: number) => Promise<void>;
  onFatal: (err: SessiondError) => void;
  /** Told the duration of each completed cycle (performance.now() milliseconds), for the latency histogram. */
  onCycle?: (ms: number) => void;
  /** Seals the images' attributes (docs/format.md §3.7); undefined: clear. */
  encryption?: Encryption;
  /** The log bytes not yet folded: sets each cycle's slice, and is told what a cycle folded (fold-backlog.ts). */
  backlog?: FoldBacklog;
}

export interface FlushStats {
  cycles: number;
  sessionsWritten: number;
  sessionsFreed: number;
  /** Images that read back damaged and were written again (write-sessions.ts). */
  imagesRewritten: number;
  lastFlushAtMs: number;
  lastFlushMs: number;
}

export class Flusher {
  private running: Promise<void> | undefined;
  private stopTimer: (() => void) | undefined;
  /** Cycles begun so far; a flush() call waits for cycle `started + 1`, the first to begin after it. */
  private started = 0;
  private readonly waiters: Array<{ cycle: number; resolve: () => void; reject: (e: unknown) => void }> = [];
  private readonly swappedLogs: Array<{ fromLog: number; lastLsn: number }> = [];
  private failed = false;
  readonly stats: FlushStats = { cycles: 0, sessionsWritten: 0, sessionsFreed: 0, imagesRewritten: 0, lastFlushAtMs: 0, lastFlushMs: 0 };

  /** The running cycle's "now" (live() reads it). */
  private cycleNow = 0;
  /** The cache entry of the ID the running cycle took last (notCold, live). */
  private current: CacheEntry | undefined;

  constructor(private readonly deps: FlusherDeps) {}

  /**
   * What a cycle writes for `id`: its loaded state, or its packed image, or undefined (gone).
   * One function for every cycle: a closure made per cycle gave its call site in
   * batch-writer.ts a new target each flush, which V8 deoptimized (h/flushcpu).
   */
  private readonly live = (id: string): SessionToWrite => {
    const cache = this.deps.cache;
    // The entry of `id` notCold just yielded: one with a state is the map's (takeDirty), so
    // its state is the loaded one without a look-up; without one, the map may have a newer.
    const s = this.current?.state ?? cache.visible.get(id);
    if (s === undefined) {
      // Packed by recovery from a log PUT and not in the file yet (background-fold.ts): written as logged.
      const p = cache.cold.packed(id);
      return p === undefined ? undefined : { lsn: p.lsn, data: Buffer.from(p.data) };
    }
    if (!isExpired(s, this.cycleNow)) return s;
    // A change waiting for its fsync (a touch) may extend it: keep the image, or its
    // record would find no base after a crash. Recovery drops it if it stays expired.
    if (cache.head(id) !== s) return s;
    cache.dropExpired(id); // expired since it changed
    return undefined;
  };

  /**
   * The taken ids minus those evicted since (cacheBytesMax): an evicted session is in the
   * database file at its lsn (the evictor's condition), so it is skipped, never mistaken
   * for a delete. A packed one is dirty only when recovery packed it from the log: written
   * (live above). Checked as the cycle reaches each id, since it yields between slices; no
   * look-up while nothing is cold (no bound, nothing packed).
   */
  private *notCold(taken: readonly CacheEntry[]): Generator<string> {
    const cold = this.deps.cache.cold;
    try {
      for (const e of taken) {
        const id = e.id;
        if (cold.size > 0 && cold.has(id) && cold.packed(id) === undefined) continue;
        this.current = e;
        yield id;
      }
    } finally {
      this.current = undefined;
    }
  }

  start(): void {
    this.stopTimer = this.deps.every(() => {
      if (this.deps.cache.dirtyCount > 0 || this.swappedLogs.length > 0) this.flush().catch(() => {});
    }, this.deps.flushIntervalMs);
  }

  stop(): void {
    this.stopTimer?.();
    this.stopTimer = undefined;
  }

  /** The log writer swapped logs: flush now so the old one can be reset. */
  onSwap(fromLog: number, lastLsn: number): void {
    this.swappedLogs.push({ fromLog, lastLsn });
    this.flush().catch(() => {});
  }

  /**
   * Resolves once a cycle that began after this call is done: it covers every change made
   * visible before the call. Waiting for that cycle, not for an empty dirty set, bounds the
   * wait to two cycles under any load. Rejects after a failure.
   */
  flush(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ cycle: this.started + 1, resolve, reject }));
    this.running ??= this.loop();
    return done;
  }

  /**
   * Serves the waiters; clears `running` in the same step that finds none left. (Cleared
   * later, in a `finally` callback, a flush() called by a waiter just resolved found it
   * still set and waited for a loop that had ended: close() hung, crash-sim-evict.)
   */
  private async loop(): Promise<void> {
    try {
      while (this.waiters.length > 0) {
        const cycle = ++this.started;
        try {
          await this.cycle();
        } catch (e) {
          for (const w of this.waiters.splice(0)) w.reject(e);
          return;
        }
        while (this.waiters.length > 0 && this.waiters[0]!.cycle <= cycle) this.waiters.shift()!.resolve();
      }
    } finally {
      this.running = undefined;
    }
  }

  private async cycle(): Promise<void> {
    if (this.failed) throw new Error('flusher stopped after a failure');
    const { cache, db } = this.deps;
    const started = this.deps.now();
    const t0 = performance.now();
    const snapshotLsn = cache.appliedLsn;
    const mark = this.deps.backlog?.mark() ?? 0;
    const dirty = cache.takeDirty();
    try {
      this.cycleNow = this.deps.now();
      const ids = this.notCold(dirty);
      // Invariant: the cache is never behind the database file (recovery starts it at the
      // file's appliedLsn). A snapshot below it would claim less than the logs' firstLsn vouches for.
      assert(snapshotLsn >= db.appliedLsn, `flush snapshot lsn ${snapshotLsn} below the database's appliedLsn ${db.appliedLsn}`);
      // Resolves only once every image it wrote has read back as written: the release below
      // relies on it (a failed read-back throws and keeps the logs).
      const { written, freed, rewritten } = await writeSessions(db, ids, this.live, snapshotLsn, this.deps.flushBatchBytesMax, this.deps.syncLog, this.deps.encryption, new LoopSlice(this.deps.backlog?.sliceMs(this.deps.flushSliceMsMax) ?? this.deps.flushSliceMsMax, this.deps.now));
      this.deps.backlog?.foldedTo(mark);
      this.stats.sessionsWritten += written;
      this.stats.sessionsFreed += freed;
      this.stats.imagesRewritten += rewritten;
      while (this.swappedLogs.length > 0 && this.swappedLogs[0]!.lastLsn <= db.appliedLsn) {
        await this.deps.releaseLog(this.swappedLogs.shift()!.fromLog);
      }
    } catch (e) {
      this.failed = true;
      this.stop();
      this.deps.backlog?.releaseAll(); // the changes waiting for this fold meet the store's refusal
      // A broken invariant is never turned into an operating error: it surfaces uncaught.
      if (e instanceof AssertionError) queueMicrotask(() => {
        throw e;
      });
      else this.deps.onFatal(e as SessiondError);
      throw e;
    }
    this.stats.cycles++;
    this.stats.lastFlushAtMs = this.deps.now();
    this.stats.lastFlushMs = this.stats.lastFlushAtMs - started;
    this.deps.onCycle?.(performance.now() - t0);
  }
}
