import { assert } from '../assert.js';
import { RECORD_OVERHEAD_BYTES, type RecordType } from '../format/constants.js';
import { SessiondError, isSessiondError } from '../errors.js';
import { resolveOptions, type EngineOptions, type EngineOptionsInput } from '../options.js';
import { startInterval, type Clock, type MonotonicClock } from '../clock.js';
import type { SessionDatabase } from './session-database.js';
import type { LogAppend, LogWriter } from '../log/log-writer.js';
import { generateSessionId, invalidSessionIdError, isValidSessionId } from '../session/session-id.js';
import { isExpired, type SessionState } from '../session/session-state.js';
import { OperationLatency, type OperationKind } from './operation-latency.js';
import type { Flusher } from './flusher.js';
import type { RecoveryReport } from './recovery.js';
import type { SessionCache } from './session-cache.js';
import { SessionQueue, type Release } from './session-queue.js';
import type { StoreLock } from './store-lock.js';
import type { Tombstones } from './tombstones.js';
import { ExpiryReaper } from './expiry-reaper.js';
import { CacheBound, type LoadWait } from './cache-bound.js';
import { checkBoundedDatabase, readAllStates } from './bounded-reads.js';
import { buildStats, type EngineStats } from './engine-stats.js';
import { checkFunction, checkId, checkPatchInput, checkRestoreInput, checkSaveInput, checkTouchInput } from './engine-arguments.js';
import { planDestroy, planPatch, planSave, planSaveOne, planTouch, type PatchInput, type SaveInput, type TouchInput, type WritePlan } from './write-plan.js';
import { planRestore, type RestoreInput, type RestoreOutcome } from './restore-plan.js';
import { rekeyAll } from './rekey.js';
import { BackgroundFold } from './background-fold.js';
import type { FoldBacklog } from './fold-backlog.js';
import { lockStoreDir, recoverStore } from './engine-open.js';
import { createPipeline } from './engine-pipeline.js';
import { liveIds, liveState, liveStates } from './live-state.js';
import { checkPrincipal, destroyTargetsOf, liveIdsOf, liveSessionsOf, readSessionsOf } from './principal-queries.js';

export type { SaveInput, PatchInput, TouchInput } from './write-plan.js';
export type { RestoreInput, RestoreOutcome } from './restore-plan.js';

/**
 * The embedded session store (SPEC E1-E10): every session in memory, every change durable
 * in the write-ahead log before it is acknowledged and visible, sessions moved into the
 * database file in the background, everything rebuilt from the two after a crash.
 *
 * A session flows: save() → write plan (diff) → LogWriter.append (record cache, group
 * commit) → durable → SessionCache.apply (visible) → Flusher → SessionDatabase.
 */
export class SessionEngine {
  /** The options' clock under a floor: "now" never goes back (docs/durability.md, clock jumps). */
  readonly clock: Clock;
  readonly recovery: RecoveryReport;
  private readonly cache: SessionCache;
  private readonly queue: SessionQueue;
  private readonly tombstones: Tombstones;
  /** Latency histograms per operation kind, always on (read by stats() and the admin port). */
  readonly latency = new OperationLatency();
  private writer!: LogWriter;
  private flusher!: Flusher;
  private reaper!: ExpiryReaper;
  /** The fold recovery left to the flusher (background-fold.ts); undefined when it folded at the open. */
  private fold: BackgroundFold | undefined;
  /** Log bytes not yet folded into the database file, and the wait at flushBacklogBytesMax (fold-backlog.ts). */
  private backlog!: FoldBacklog;
  /** The cache's memory bound; undefined when cacheBytesMax is 0 (every session loaded). */
  private bound: CacheBound | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private fatal: SessiondError | undefined;

  private constructor(
    readonly options: EngineOptions,
    private readonly lockHandle: StoreLock,
    private readonly db: SessionDatabase,
    cache: SessionCache,
    report: RecoveryReport,
    clock: MonotonicClock,
    tombstones: Tombstones,
  ) {
    this.clock = clock;
    this.cache = cache;
    this.recovery = report;
    this.queue = new SessionQueue(options);
    this.tombstones = tombstones;
  }

  /** Opens (creating or recovering) the store in `options.dir`. Resolves once recovery is done. */
  static async open(input: EngineOptionsInput): Promise<SessionEngine> {
    const options = resolveOptions(input);
    const lock = await lockStoreDir(options);
    try {
      const r = await recoverStore(options);
      const engine = await SessionEngine.started(options, lock, r).catch(async (e: unknown) => {
        await r.db.close().catch(() => undefined);
        throw e;
      });
      options.logger.info('store_recovered', { ...r.report, corruption: r.report.corruption.length, logs: undefined, db: undefined });
      return engine;
    } catch (e) {
      await lock.release();
      throw e;
    }
  }

  /** The engine on what recovery found, its pipeline started (the caller closes `r.db` if this fails). */
  private static async started(options: EngineOptions, lock: StoreLock, r: Awaited<ReturnType<typeof recoverStore>>): Promise<SessionEngine> {
    const engine = new SessionEngine(options, lock, r.db, r.cache, r.report, r.clock, r.carried);
    if (options.cacheBytesMax > 0) engine.bound = new CacheBound(r.cache, checkBoundedDatabase(r.db), options.cacheBytesMax, options.encryption);
    if (r.fold !== undefined) engine.fold = new BackgroundFold(r.fold, r.cache, () => r.clock.now());
    await engine.start(r.nextLsn, r.generation);
    return engine;
  }

  private async start(nextLsn: number, generation: number): Promise<void> {
    const o = this.options;
    const { cache, db, latency, bound, fold, tombstones } = this;
    const onFatal = (err: SessiondError): void => this.setFatal(err);
    const p = await createPipeline({ options: o, clock: this.clock, cache, db, latency, bound, fold, tombstones, nextLsn, generation, onFatal });
    this.writer = p.writer;
    this.flusher = p.flusher;
    this.backlog = p.backlog;
    this.flusher.start();
    if (this.fold?.log !== undefined) this.flusher.onSwap(this.fold.log.index, this.fold.log.lastLsn); // folds it now
    this.bound?.schedule();
    this.reaper = new ExpiryReaper(this.cache, this.tombstones, () => this.clock.now(), o.expiryIntervalMs, o.expiryScanMax, (fn, ms) => startInterval(this.clock, fn, ms));
    this.reaper.start();
  }

  /** A write or fsync failed: never retried; the store turns read-only and says why. */
  private setFatal(err: SessiondError): void {
    if (this.fatal !== undefined) return;
    this.fatal = err.code === 'SESSIOND_READ_ONLY' ? err : new SessiondError('SESSIOND_READ_ONLY', err.message, { ...err.context, cause: err.code }, { cause: err });
    this.cache.clearHeads();
    this.options.logger.error('store_read_only', { code: err.code, ...err.context });
  }

  /** Why the store refuses writes, or undefined while it accepts them. */
  get readOnlyReason(): SessiondError | undefined {
    return this.fatal;
  }

  generateId(): string {
    return generateSessionId();
  }

  /**
   * The durable state of a session; undefined when absent, expired or the ID is malformed.
   * Never touches the disk: with `cacheBytesMax`, a session that is only on disk throws
   * SESSIOND_SESSION_NOT_LOADED (never "absent"); `read` waits for it.
   */
  get(id: string): SessionState | undefined {
    checkId(id);
    const t0 = this.latency.startGet();
    const s = this.cache.durable(id);
    if (s === undefined && this.bound !== undefined) this.checkLoaded(id);
    const out = s === undefined ? undefined : liveState(this.cache, s, this.clock.now());
    if (out !== undefined) this.cache.visible.used(id);
    this.latency.endGet(t0);
    return out;
  }

  /**
   * Like `get`, but a session the cache bound left on disk is read back (one positioned
   * read) instead of refused. Resolves at once for a loaded session.
   */
  async read(id: string): Promise<SessionState | undefined> {
    checkId(id);
    if (!isValidSessionId(id)) return undefined;
    const expiry = this.cache.cold.expiryOf(id);
    if (expiry !== undefined && expiry <= this.clock.now()) return undefined; // expired: no need to load it
    const w = this.bound?.ensure(id);
    if (w !== undefined) await this.waitLoaded(w);
    return this.get(id);
  }

  /** Every live session, cold ones read back from disk one at a time (not kept loaded). */
  async readAll(): Promise<SessionState[]> {
    if (this.cache.cold.size === 0 || this.bound === undefined) return this.all();
    return readAllStates(this.all(true), this.cache.cold, this.db, this.clock.now(), (id) => {
      const s = this.cache.visible.get(id);
      return s === undefined ? undefined : liveState(this.cache, s, this.clock.now());
    }, this.options.encryption);
  }

  /** A cold session (or one being loaded) is not "absent": refuse to answer synchronously. */
  private checkLoaded(id: string): void {
    if (isValidSessionId(id) && this.cache.cold.has(id)) throw new SessiondError('SESSIOND_SESSION_NOT_LOADED');
  }

  /** Waits for a cold session's load; resumes in call order (cache-bound.ts). */
  private async waitLoaded(w: LoadWait): Promise<void> {
    try {
      await w.promise;
    } finally {
      w.done();
    }
  }

  /** True while a destroyed ID still refuses saves. */
  isDestroyed(id: string): boolean {
    checkId(id);
    return this.tombstones.has(id, this.clock.now());
  }

  /**
   * Lifts the tombstone of a destroyed ID so that it can be saved again; true if there was
   * one. For callers that know a save is a new session, not a late one: `sessiond serve`
   * lifts it for a SET without an expiry (docs/server.md "DEL and late writes").
   */
  forgetDestroyed(id: string): boolean {
    return this.tombstones.forget(id);
  }

  /**
   * Whether a change of `id` was logged and waits for its fsync. A caller that got a state
   * from a save that changed nothing (the head) and owes someone durability waits for
   * `whenDurable` only then: one look-up, where `get(id) !== saved` took four.
   */
  hasPending(id: string): boolean {
    return this.cache.hasPending(id);
  }

  /**
   * Resolves once every change appended so far is durable. A save that changes nothing
   * resolves at once with the head state, which may still wait for its fsync; a caller
   * that acknowledges durability to someone else (the server) waits for this.
   */
  whenDurable(): Promise<void> {
    this.checkWritable();
    return this.writer.drain();
  }

  /** Creates a session with a fresh ID. */
  async create(input: SaveInput = { attributes: {} }): Promise<SessionState> {
    return this.save(this.generateId(), input);
  }

  /**
   * Creates or replaces a session's attributes. Only what changed is written: a PATCH with
   * the changed attributes, a TOUCH when only the expiry moved, nothing when nothing did.
   * Resolves once the change is durable (per the durability level).
   */
  async save(id: string, input: SaveInput): Promise<SessionState> {
    checkId(id);
    checkSaveInput(input);
    return this.commit(id, 'save', (now) => planSave(this.base(id, now), id, input, now, this.options));
  }

  /**
   * save(id, { attributes: { [name]: value }, expiresAtMs }): the one attribute becomes the
   * session's whole attribute set (sessiond serve's SET of an opaque value), with the same
   * record, state and durability, without an attribute object to build and diff.
   */
  saveOne(id: string, name: string, value: string, expiresAtMs?: number): Promise<SessionState> {
    return this.commit(id, 'save', (now) => planSaveOne(this.base(id, now), id, name, value, expiresAtMs, now, this.options));
  }

  /** Sets and removes some attributes of an existing session. */
  async patch(id: string, input: PatchInput): Promise<SessionState> {
    checkId(id);
    checkPatchInput(input);
    return this.commit<SessionState>(id, 'patch', (now) => planPatch(this.base(id, now), id, input, now, this.options));
  }

  /**
   * Moves a session's expiry (and last access) with a small record. Resolves undefined if
   * absent, else once the record is durable. `lazy` (the adapters' touch, answered once
   * appended): the record asks for no fdatasync of its own; it is synced with the next
   * change that waits for one, or within fsyncIntervalMs (log-writer.ts).
   */
  async touch(id: string, input: TouchInput = {}, lazy = false): Promise<SessionState | undefined> {
    checkId(id);
    checkTouchInput(input);
    if (!isValidSessionId(id)) return undefined;
    // Inline, not in a helper: a waiter must append in the same turn it resumes (cache-bound.ts).
    const w = this.bound?.ensure(id);
    if (w !== undefined) {
      try {
        await w.promise;
      } finally {
        w.done();
      }
    }
    const now = this.clock.now();
    if (this.base(id, now) === undefined) return undefined;
    // commit may wait (admission, a load) and the session expire meanwhile: then it is absent.
    return this.commit(id, 'touch', (t) => {
      const base = this.base(id, t);
      return base === undefined ? undefined : planTouch(base, input, t, this.options);
    }, lazy === true);
  }

  /**
   * Writes an imported session whole, with its own times and owner (sessiond import), unless
   * the store's copy was accessed later, the import has expired, or the ID was destroyed
   * (restore-plan.ts says which). Resolves once the change is durable, like a save.
   */
  async restore(id: string, input: RestoreInput): Promise<RestoreOutcome> {
    checkId(id);
    checkRestoreInput(input);
    let outcome: RestoreOutcome = 'written';
    try {
      await this.commit(id, 'save', (now) => {
        const r = planRestore(this.base(id, now), id, input, now, this.options);
        outcome = r.outcome;
        return r.plan;
      });
    } catch (e) {
      if (isSessiondError(e, 'SESSIOND_SESSION_DESTROYED')) return 'destroyed';
      throw e;
    }
    return outcome;
  }

  /** Deletes a session and leaves a tombstone so late saves cannot bring it back. */
  async destroy(id: string): Promise<boolean> {
    checkId(id);
    if (!isValidSessionId(id)) return false;
    this.checkWritable();
    const w = this.bound?.ensure(id);
    if (w !== undefined) {
      try {
        await w.promise;
      } finally {
        w.done();
      }
      this.checkWritable();
    }
    const t0 = performance.now();
    const now = this.clock.now();
    this.tombstones.add(id, now);
    const last = this.cache.head(id);
    // Logged even when absent or just expired, and acknowledged once durable (planDestroy).
    const plan = planDestroy(id, last, now);
    const { lsn, durable } = this.append(id, plan.type, plan.data, null);
    try {
      await durable; // as commit's: one step, so acknowledgements apply in LSN order
    } catch (e) {
      this.cache.dropHead(id, null);
      throw e;
    }
    this.cache.applyDelete(id, lsn, this.clock.now()); // now: acknowledgements apply in LSN order
    this.backlog.noteApplied(RECORD_OVERHEAD_BYTES + plan.data.byteLength);
    // With 'interval' or 'none' the record is only written: a destroy waits for the disk.
    if (this.options.durability !== 'fsync') await this.writer.sync();
    this.tombstones.confirm(id);
    this.latency.since('destroy', t0);
    return last !== undefined && !isExpired(last, now);
  }

  /** The head state (pending or durable) unless expired. */
  private base(id: string, now: number): SessionState | undefined {
    const s = this.cache.head(id);
    return s !== undefined && !isExpired(s, now) ? s : undefined;
  }

  private checkWritable(): void {
    if (this.closed) throw new SessiondError('SESSIOND_CLOSED');
    if (this.fatal !== undefined) throw this.fatal;
  }

  /** Latency is recorded for completed changes (and no-ops), not for refused or failed ones. */
  private async commit<T extends SessionState | undefined>(id: string, kind: OperationKind, plan: (now: number) => WritePlan | T, lazy = false): Promise<SessionState | T> {
    const t0 = performance.now();
    this.checkWritable();
    if (!isValidSessionId(id)) throw invalidSessionIdError();
    const admitted = this.backlog.admit(); // at flushBacklogBytesMax: wait for the flusher, in call order
    if (admitted !== undefined) {
      await admitted;
      this.checkWritable();
    }
    const w = this.bound?.ensure(id);
    if (w !== undefined) {
      try {
        await w.promise;
      } finally {
        w.done();
      }
      this.checkWritable();
    }
    const now = this.clock.now();
    if (this.tombstones.has(id, now)) throw new SessiondError('SESSIOND_SESSION_DESTROYED');
    const p = plan(now);
    if (p === undefined || !('type' in p)) {
      this.latency.since(kind, t0);
      return p; // nothing changed (or absent): nothing to write
    }
    const head = p.state;
    const { durable } = this.append(id, p.type, p.data, head, lazy); // appends now, or throws
    if (lazy) this.latency.since(kind, t0); // answered now; the sync comes later
    try {
      await durable;
    } catch (e) {
      this.cache.dropHead(id, head);
      throw e;
    }
    this.cache.apply(head, this.clock.now());
    this.backlog.noteApplied(RECORD_OVERHEAD_BYTES + p.data.byteLength);
    this.bound?.schedule();
    if (!lazy) this.latency.since(kind, t0);
    return head;
  }

  /**
   * Appends a change to the log and makes `head` the session's head (null: deleted) until
   * it is durable. Synchronous, so the changes of one session chain in call order. `head`
   * is a plan's fresh state (write-plan.ts): no reader has it yet, so its lsn is filled in
   * here instead of copying the state.
   */
  private append(id: string, type: RecordType, data: WritePlan['data'], head: SessionState | null, lazy = false): LogAppend {
    const a = this.writer.append(type, data, this.db.offsetOf(id), lazy);
    // Invariant: LSNs are never reused; recovery skips every record at or below appliedLsn.
    if (!(a.lsn > this.db.appliedLsn && a.lsn > this.cache.appliedLsn)) assert(false, `lsn ${a.lsn} reused (appliedLsn ${this.db.appliedLsn}, cache ${this.cache.appliedLsn})`);
    if (head !== null) (head as { lsn: number }).lsn = a.lsn;
    this.cache.setHead(id, head);
    this.options.observer.appended(a.lsn, id, head ?? undefined);
    return a;
  }

  /** Waits for this session's turn (SPEC E8); call the returned function exactly when done. */
  async lock(id: string): Promise<Release> {
    checkId(id);
    if (this.closed) return Promise.reject(new SessiondError('SESSIOND_CLOSED'));
    return this.queue.acquire(id);
  }

  /** The session's turn at once when it is free, else undefined (then `lock`); undefined once closed. */
  lockNow(id: string): Release | undefined {
    checkId(id);
    return this.closed ? undefined : this.queue.tryAcquire(id);
  }

  /** Runs `fn` alone among the requests of session `id`. */
  async withSession<T>(id: string, fn: () => T | Promise<T>): Promise<T> {
    checkId(id);
    checkFunction(fn, 'fn');
    if (this.closed) return Promise.reject(new SessiondError('SESSIOND_CLOSED'));
    return this.queue.run(id, fn);
  }

  /**
   * IDs of the live sessions of a principal (SPEC B5, the `principal` option), cold ones
   * included from their summaries: never touches the disk, never loads a session.
   */
  idsOf(principal: string): string[] {
    return liveIdsOf(this.cache, this.clock, principal);
  }

  /**
   * The live sessions of a principal (SPEC B5, the `principal` option). Never touches the
   * disk: with `cacheBytesMax`, one left on disk makes it throw SESSIOND_SESSION_NOT_LOADED
   * (never a shorter list); `readSessionsOf` reads them back.
   */
  sessionsOf(principal: string): SessionState[] {
    return liveSessionsOf(this.cache, this.clock, principal);
  }

  /** Like `sessionsOf`, but the sessions the cache bound left on disk are read back (and loaded). */
  readSessionsOf(principal: string): Promise<SessionState[]> {
    return readSessionsOf(this.idsOf(principal), principal, (id) => this.read(id));
  }

  /**
   * Destroys every session of a principal but those in `except` ("log out everywhere else");
   * resolves the number of live sessions destroyed. Atomic with respect to concurrent saves:
   * every loaded target's tombstone is set and its TOMBSTONE record appended before this
   * yields, so a save appended earlier (its pending state is a target too) is deleted after
   * it in log order, and a later one is refused for tombstoneMs (docs/operations.md). A cold
   * target (cacheBytesMax) is found by its summary's principal and loaded first; operations
   * on it resume in call order after the load (cache-bound.ts), so a save called after this
   * finds the tombstone and one called before is deleted after it.
   */
  async destroyAllOf(principal: string, options: { except?: string | readonly string[] } = {}): Promise<number> {
    checkPrincipal(principal);
    this.checkWritable();
    const destroyed = destroyTargetsOf(this.cache, principal, options.except).map((id) => this.destroy(id));
    return (await Promise.all(destroyed)).filter(Boolean).length;
  }

  /**
   * Rewrites every session's image under the current encryption key and scrubs the free
   * space of the database file (rekey.ts, docs/operations.md key rotation): when it resolves,
   * no file of the store holds a byte sealed under an older key. Resolves the number rewritten.
   */
  async rekey(): Promise<number> {
    this.checkWritable();
    const o = this.options;
    return rekeyAll({ cache: this.cache, bound: this.bound, db: this.db, now: () => this.clock.now(), read: (id) => this.read(id), flush: () => this.flush(), logger: o.logger, keyId: o.encryption?.current });
  }

  /** IDs of live (unexpired) sessions, cold ones included (without loading them). */
  ids(): string[] {
    return liveIds(this.cache, this.clock);
  }

  /**
   * Every live session. With `cacheBytesMax`, sessions left on disk make it throw
   * SESSIOND_SESSION_NOT_LOADED unless `loadedOnly`; `readAll` reads them back.
   */
  all(loadedOnly = false): SessionState[] {
    return liveStates(this.cache, this.clock, this.bound !== undefined, loadedOnly);
  }

  count(): number {
    return this.ids().length;
  }

  /** Destroys every session; resolves the number destroyed. */
  async clear(): Promise<number> {
    const results = await Promise.all(this.ids().map((id) => this.destroy(id)));
    return results.filter(Boolean).length;
  }

  async stats(): Promise<EngineStats> {
    return buildStats({
      now: this.clock.now(),
      cache: this.cache,
      db: this.db,
      writer: this.writer,
      flusher: this.flusher,
      queue: this.queue,
      tombstones: this.tombstones,
      latency: this.latency,
      recovery: this.recovery,
      readOnly: this.fatal,
      durability: this.options.durability,
      bound: this.bound,
      fold: this.fold,
      backlog: this.backlog,
    });
  }

  /** Moves every change made so far into the database file now. */
  async flush(): Promise<void> {
    this.checkWritable();
    await this.writer.drain();
    await this.flusher.flush();
  }

  /** Online compaction: returns free space at the end of the database file to the file system. */
  async compact(): Promise<{ bytesBefore: number; bytesAfter: number; moved: number }> {
    await this.flush();
    return this.db.compact();
  }

  /** Flushes and releases every handle and timer. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    this.queue.rejectAll(new SessiondError('SESSIOND_CLOSED'));
    this.reaper.stop();
    this.bound?.stop();
    this.flusher.stop();
    this.backlog.releaseAll(); // they meet SESSIOND_CLOSED
    try {
      if (this.fatal === undefined) {
        await this.writer.drain();
        await this.flusher.flush();
      }
    } finally {
      await this.writer.close().catch(() => undefined);
      await this.db.close().catch(() => undefined);
      await this.lockHandle.release();
    }
  }
}
