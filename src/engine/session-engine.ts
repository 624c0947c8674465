import { SessiondError } from '../errors.js';
import type { EngineOptions, EngineOptionsInput } from '../options.js';
import type { Clock } from '../clock.js';
import { generateSessionId } from '../session/session-id.js';
import type { SessionState } from '../session/session-state.js';
import type { OperationLatency } from './operation-latency.js';
import type { RecoveryReport } from './recovery.js';
import type { Release } from './session-queue.js';
import { buildStats, type EngineStats } from './engine-stats.js';
import { checkFunction, checkId } from './engine-arguments.js';
import type { PatchInput, SaveInput, TouchInput } from './write-plan.js';
import type { RestoreInput, RestoreOutcome } from './restore-plan.js';
import { rekeyAll } from './rekey.js';
import { closeEngineParts, openEngineParts, type EngineParts } from './engine-parts.js';
import { SessionReads } from './session-reads.js';
import { SessionWrites } from './session-writes.js';
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
 * The parts are opened and closed in engine-parts.ts; reads are session-reads.ts, changes
 * session-writes.ts.
 */
export class SessionEngine {
  readonly options: EngineOptions;
  /** The options' clock under a floor: "now" never goes back (docs/durability.md, clock jumps). */
  readonly clock: Clock;
  readonly recovery: RecoveryReport;
  /** Latency histograms per operation kind, always on (read by stats() and the admin port). */
  readonly latency: OperationLatency;
  private readonly reads: SessionReads;
  private readonly writes: SessionWrites;
  private closing: Promise<void> | undefined;

  private constructor(private readonly parts: EngineParts) {
    this.options = parts.options;
    this.clock = parts.clock;
    this.recovery = parts.recovery;
    this.latency = parts.latency;
    this.reads = new SessionReads(parts);
    this.writes = new SessionWrites(parts);
  }

  /** Opens (creating or recovering) the store in `options.dir`. Resolves once recovery is done. */
  static async open(input: EngineOptionsInput): Promise<SessionEngine> {
    return new SessionEngine(await openEngineParts(input));
  }

  /** Why the store refuses writes, or undefined while it accepts them. */
  get readOnlyReason(): SessiondError | undefined {
    return this.parts.status.fatal;
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
    return this.reads.get(id);
  }

  /**
   * Like `get`, but a session the cache bound left on disk is read back (one positioned
   * read) instead of refused. Resolves at once for a loaded session.
   */
  read(id: string): Promise<SessionState | undefined> {
    return this.reads.read(id);
  }

  /** Every live session, cold ones read back from disk one at a time (not kept loaded). */
  readAll(): Promise<SessionState[]> {
    return this.reads.readAll();
  }

  /** True while a destroyed ID still refuses saves. */
  isDestroyed(id: string): boolean {
    checkId(id);
    return this.parts.tombstones.has(id, this.clock.now());
  }

  /**
   * Lifts the tombstone of a destroyed ID so that it can be saved again; true if there was
   * one. For callers that know a save is a new session, not a late one: `sessiond serve`
   * lifts it for a SET without an expiry (docs/server.md "DEL and late writes").
   */
  forgetDestroyed(id: string): boolean {
    return this.parts.tombstones.forget(id);
  }

  /**
   * Whether a change of `id` was logged and waits for its fsync. A caller that got a state
   * from a save that changed nothing (the head) and owes someone durability waits for
   * `whenDurable` only then: one look-up, where `get(id) !== saved` took four.
   */
  hasPending(id: string): boolean {
    return this.parts.cache.hasPending(id);
  }

  /**
   * Resolves once every change appended so far is durable. A save that changes nothing
   * resolves at once with the head state, which may still wait for its fsync; a caller
   * that acknowledges durability to someone else (the server) waits for this.
   */
  whenDurable(): Promise<void> {
    return this.writes.whenDurable();
  }

  /** Creates a session with a fresh ID. */
  create(input: SaveInput = { attributes: {} }): Promise<SessionState> {
    return this.writes.save(this.generateId(), input);
  }

  /**
   * Creates or replaces a session's attributes. Only what changed is written: a PATCH with
   * the changed attributes, a TOUCH when only the expiry moved, nothing when nothing did.
   * Resolves once the change is durable (per the durability level).
   */
  save(id: string, input: SaveInput): Promise<SessionState> {
    return this.writes.save(id, input);
  }

  /**
   * save(id, { attributes: { [name]: value }, expiresAtMs }): the one attribute becomes the
   * session's whole attribute set (sessiond serve's SET of an opaque value), with the same
   * record, state and durability, without an attribute object to build and diff.
   */
  saveOne(id: string, name: string, value: string, expiresAtMs?: number): Promise<SessionState> {
    return this.writes.saveOne(id, name, value, expiresAtMs);
  }

  /** Sets and removes some attributes of an existing session. */
  patch(id: string, input: PatchInput): Promise<SessionState> {
    return this.writes.patch(id, input);
  }

  /**
   * Moves a session's expiry (and last access) with a small record. Resolves undefined if
   * absent, else once the record is durable. `lazy` (the adapters' touch, answered once
   * appended): the record asks for no fdatasync of its own; it is synced with the next
   * change that waits for one, or within fsyncIntervalMs (log-writer.ts).
   */
  touch(id: string, input: TouchInput = {}, lazy = false): Promise<SessionState | undefined> {
    return this.writes.touch(id, input, lazy);
  }

  /**
   * Writes an imported session whole, with its own times and owner (sessiond import), unless
   * the store's copy was accessed later, the import has expired, or the ID was destroyed
   * (restore-plan.ts says which). Resolves once the change is durable, like a save.
   */
  restore(id: string, input: RestoreInput): Promise<RestoreOutcome> {
    return this.writes.restore(id, input);
  }

  /** Deletes a session and leaves a tombstone so late saves cannot bring it back. */
  destroy(id: string): Promise<boolean> {
    return this.writes.destroy(id);
  }

  /** Waits for this session's turn (SPEC E8); call the returned function exactly when done. */
  async lock(id: string): Promise<Release> {
    checkId(id);
    if (this.parts.status.closed) return Promise.reject(new SessiondError('SESSIOND_CLOSED'));
    return this.parts.queue.acquire(id);
  }

  /** The session's turn at once when it is free, else undefined (then `lock`); undefined once closed. */
  lockNow(id: string): Release | undefined {
    checkId(id);
    return this.parts.status.closed ? undefined : this.parts.queue.tryAcquire(id);
  }

  /** Runs `fn` alone among the requests of session `id`. */
  async withSession<T>(id: string, fn: () => T | Promise<T>): Promise<T> {
    checkId(id);
    checkFunction(fn, 'fn');
    if (this.parts.status.closed) return Promise.reject(new SessiondError('SESSIOND_CLOSED'));
    return this.parts.queue.run(id, fn);
  }

  /**
   * IDs of the live sessions of a principal (SPEC B5, the `principal` option), cold ones
   * included from their summaries: never touches the disk, never loads a session.
   */
  idsOf(principal: string): string[] {
    return liveIdsOf(this.parts.cache, this.clock, principal);
  }

  /**
   * The live sessions of a principal (SPEC B5, the `principal` option). Never touches the
   * disk: with `cacheBytesMax`, one left on disk makes it throw SESSIOND_SESSION_NOT_LOADED
   * (never a shorter list); `readSessionsOf` reads them back.
   */
  sessionsOf(principal: string): SessionState[] {
    return liveSessionsOf(this.parts.cache, this.clock, principal);
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
    this.parts.status.checkWritable();
    const destroyed = destroyTargetsOf(this.parts.cache, principal, options.except).map((id) => this.destroy(id));
    return (await Promise.all(destroyed)).filter(Boolean).length;
  }

  /**
   * Rewrites every session's image under the current encryption key and scrubs the free
   * space of the database file (rekey.ts, docs/operations.md key rotation): when it resolves,
   * no file of the store holds a byte sealed under an older key. Resolves the number rewritten.
   */
  async rekey(): Promise<number> {
    const { status, cache, bound, db, options: o } = this.parts;
    status.checkWritable();
    return rekeyAll({ cache, bound, db, now: () => this.clock.now(), read: (id) => this.read(id), flush: () => this.flush(), logger: o.logger, keyId: o.encryption?.current });
  }

  /** IDs of live (unexpired) sessions, cold ones included (without loading them). */
  ids(): string[] {
    return this.reads.ids();
  }

  /**
   * Every live session. With `cacheBytesMax`, sessions left on disk make it throw
   * SESSIOND_SESSION_NOT_LOADED unless `loadedOnly`; `readAll` reads them back.
   */
  all(loadedOnly = false): SessionState[] {
    return this.reads.all(loadedOnly);
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
    const p = this.parts;
    const { cache, db, writer, flusher, queue, tombstones, latency, recovery, bound, fold, backlog } = p;
    return buildStats({ now: this.clock.now(), cache, db, writer, flusher, queue, tombstones, latency, recovery, readOnly: p.status.fatal, durability: p.options.durability, bound, fold, backlog });
  }

  /** Moves every change made so far into the database file now. */
  async flush(): Promise<void> {
    this.parts.status.checkWritable();
    await this.parts.writer.drain();
    await this.parts.flusher.flush();
  }

  /** Online compaction: returns free space at the end of the database file to the file system. */
  async compact(): Promise<{ bytesBefore: number; bytesAfter: number; moved: number }> {
    await this.flush();
    return this.parts.db.compact();
  }

  /** Flushes and releases every handle and timer. Idempotent. */
  close(): Promise<void> {
    this.closing ??= closeEngineParts(this.parts);
    return this.closing;
  }
}
