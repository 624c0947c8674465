import { performance } from 'node:perf_hooks';
import { assert } from '../assert.js';
import { RECORD_OVERHEAD_BYTES, type RecordType } from '../format/constants.js';
import { SessiondError, isSessiondError } from '../errors.js';
import type { EngineOptions } from '../options.js';
import type { Clock } from '../clock.js';
import type { LogAppend, LogWriter } from '../log/log-writer.js';
import { invalidSessionIdError, isValidSessionId } from '../session/session-id.js';
import { isExpired, type SessionState } from '../session/session-state.js';
import type { OperationKind, OperationLatency } from './operation-latency.js';
import type { SessionDatabase } from './session-database.js';
import type { SessionCache } from './session-cache.js';
import type { Tombstones } from './tombstones.js';
import type { CacheBound } from './cache-bound.js';
import type { FoldBacklog } from './fold-backlog.js';
import type { EngineStatus } from './engine-status.js';
import type { EngineParts } from './engine-parts.js';
import { checkId, checkPatchInput, checkRestoreInput, checkSaveInput, checkTouchInput } from './engine-arguments.js';
import { planDestroy, planPatch, planSave, planSaveOne, planTouch, type PatchInput, type SaveInput, type TouchInput, type WritePlan } from './write-plan.js';
import { planRestore, type RestoreInput, type RestoreOutcome } from './restore-plan.js';

/** What a touch of an absent session resolves with (shared: nothing ever writes to it). */
const NO_STATE: Promise<undefined> = Promise.resolve(undefined);

/**
 * The engine's changes (SessionEngine's save, patch, touch, restore, destroy): a write plan
 * from the head state, appended to the log (the session's pending head until then), applied
 * to the cache once durable. A change is acknowledged only after its group's sync; one
 * whose append or sync failed drops its head and rejects.
 */
export class SessionWrites {
  private readonly options: EngineOptions;
  private readonly clock: Clock;
  private readonly cache: SessionCache;
  private readonly db: SessionDatabase;
  private readonly tombstones: Tombstones;
  private readonly latency: OperationLatency;
  private readonly status: EngineStatus;
  private readonly bound: CacheBound | undefined;
  private readonly writer: LogWriter;
  private readonly backlog: FoldBacklog;

  constructor(p: EngineParts) {
    this.options = p.options;
    this.clock = p.clock;
    this.cache = p.cache;
    this.db = p.db;
    this.tombstones = p.tombstones;
    this.latency = p.latency;
    this.status = p.status;
    this.bound = p.bound;
    this.writer = p.writer;
    this.backlog = p.backlog;
  }

  /** Resolves once every change appended so far is durable. */
  whenDurable(): Promise<void> {
    this.status.checkWritable();
    return this.writer.drain();
  }

  async save(id: string, input: SaveInput): Promise<SessionState> {
    checkId(id);
    checkSaveInput(input);
    return this.commit(id, 'save', (now) => planSave(this.base(id, now), id, input, now, this.options));
  }

  saveOne(id: string, name: string, value: string, expiresAtMs?: number): Promise<SessionState> {
    return this.commit(id, 'save', (now) => planSaveOne(this.base(id, now), id, name, value, expiresAtMs, now, this.options));
  }

  async patch(id: string, input: PatchInput): Promise<SessionState> {
    checkId(id);
    checkPatchInput(input);
    return this.commit<SessionState>(id, 'patch', (now) => planPatch(this.base(id, now), id, input, now, this.options));
  }

  /**
   * `lazy`: the record asks for no fdatasync of its own (log-writer.ts); answered once appended.
   * Not an async function: without a cache bound (nothing to wait for before the append) it
   * returns commit's promise itself, not a promise adopting it (two microtask turns and a
   * promise less per touch: `sessiond serve`'s EXPIRE, issue 9). Bad input still rejects.
   */
  touch(id: string, input: TouchInput, lazy: boolean): Promise<SessionState | undefined> {
    if (this.bound !== undefined) return this.touchBounded(id, input, lazy);
    try {
      checkId(id);
      checkTouchInput(input);
      if (!isValidSessionId(id)) return NO_STATE;
      return this.touchNow(id, input, lazy);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** touch with a cache bound: the session may have to be loaded (or room made) first. */
  private async touchBounded(id: string, input: TouchInput, lazy: boolean): Promise<SessionState | undefined> {
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
    return this.touchNow(id, input, lazy); // appends in this turn (commit runs to its first await)
  }

  private touchNow(id: string, input: TouchInput, lazy: boolean): Promise<SessionState | undefined> {
    const now = this.clock.now();
    if (this.base(id, now) === undefined) return NO_STATE;
    // commit may wait (admission, a load) and the session expire meanwhile: then it is absent.
    return this.commit(id, 'touch', (t) => {
      const base = this.base(id, t);
      return base === undefined ? undefined : planTouch(base, input, t, this.options);
    }, lazy === true);
  }

  /** Writes an imported session whole unless restore-plan.ts says otherwise; says which. */
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

  /** Deletes a session and leaves a tombstone; true if it was live. */
  async destroy(id: string): Promise<boolean> {
    checkId(id);
    if (!isValidSessionId(id)) return false;
    this.status.checkWritable();
    const w = this.bound?.ensure(id);
    if (w !== undefined) {
      try {
        await w.promise;
      } finally {
        w.done();
      }
      this.status.checkWritable();
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

  /** Latency is recorded for completed changes (and no-ops), not for refused or failed ones. */
  private async commit<T extends SessionState | undefined>(id: string, kind: OperationKind, plan: (now: number) => WritePlan | T, lazy = false): Promise<SessionState | T> {
    const t0 = performance.now();
    this.status.checkWritable();
    if (!isValidSessionId(id)) throw invalidSessionIdError();
    const admitted = this.backlog.admit(); // at flushBacklogBytesMax: wait for the flusher, in call order
    if (admitted !== undefined) {
      await admitted;
      this.status.checkWritable();
    }
    const w = this.bound?.ensure(id);
    if (w !== undefined) {
      try {
        await w.promise;
      } finally {
        w.done();
      }
      this.status.checkWritable();
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
}
