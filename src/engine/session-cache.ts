import { assert } from '../assert.js';
import type { SessionState } from '../session/session-state.js';
import { PrincipalIndex } from './principal-index.js';

/**
 * The database cache (SPEC E5, claim 13e): every live session in memory, indexed by ID.
 *
 * `visible` holds only states whose log record is durable: a reader never sees a change
 * that a crash could still take back. A change waiting for its fsync lives in `heads`,
 * which the next writer of the same session builds on, so concurrent changes chain in
 * log order. `null` in heads is a delete waiting for its fsync.
 */
export class SessionCache {
  readonly visible = new Map<string, SessionState>();
  private readonly heads = new Map<string, SessionState | null>();
  /** Sessions whose visible state changed since the flusher last took them. */
  private dirty = new Set<string>();
  private dirtySinceMs = 0;
  /** Highest LSN applied to `visible`; acknowledgements arrive in LSN order. */
  appliedLsn = 0;
  /** principal → IDs of `visible`; every change of `visible` below moves it (principal-index.ts). */
  readonly principals = new PrincipalIndex();

  /** The latest logged state (pending or durable), or undefined when absent or deleted. */
  head(id: string): SessionState | undefined {
    const h = this.heads.get(id);
    if (h === null) return undefined;
    return h ?? this.visible.get(id);
  }

  setHead(id: string, state: SessionState | null): void {
    this.heads.set(id, state);
  }

  /** A logged change is durable: make it visible. */
  apply(state: SessionState, nowMs: number): void {
    this.advance(state.lsn);
    this.principals.move(state.id, this.visible.get(state.id)?.principal ?? '', state.principal);
    this.visible.set(state.id, state);
    if (this.heads.get(state.id) === state) this.heads.delete(state.id);
    this.markDirty(state.id, nowMs);
  }

  /** A logged delete is durable. */
  applyDelete(id: string, lsn: number, nowMs: number): void {
    this.advance(lsn);
    this.principals.move(id, this.visible.get(id)?.principal ?? '', '');
    this.visible.delete(id);
    if (this.heads.get(id) === null) this.heads.delete(id);
    this.markDirty(id, nowMs);
  }

  /** A change that will never be durable (the writer failed): forget it. */
  dropHead(id: string, state: SessionState | null): void {
    if (this.heads.get(id) === state) this.heads.delete(id);
  }

  clearHeads(): void {
    this.heads.clear();
  }

  /** States logged but not durable yet (bounded by the write queue). */
  *pendingStates(): IterableIterator<SessionState> {
    for (const h of this.heads.values()) if (h !== null) yield h;
  }

  get pendingCount(): number {
    return this.heads.size;
  }

  /** Removes an expired session without a log record: expiry is a pure function of the state. */
  reclaim(id: string, nowMs: number): void {
    this.principals.move(id, this.visible.get(id)?.principal ?? '', '');
    this.visible.delete(id);
    this.markDirty(id, nowMs);
  }

  /** The flusher found it expired: gone from memory (its image is freed by the batch in progress). */
  dropExpired(id: string): void {
    this.principals.move(id, this.visible.get(id)?.principal ?? '', '');
    this.visible.delete(id);
  }

  markDirty(id: string, nowMs: number): void {
    if (this.dirty.size === 0) this.dirtySinceMs = nowMs;
    this.dirty.add(id);
  }

  /** Hands the dirty set to the flusher and starts a new one. */
  takeDirty(): Set<string> {
    const d = this.dirty;
    this.dirty = new Set();
    return d;
  }

  get dirtyCount(): number {
    return this.dirty.size;
  }

  /** When the oldest change not yet taken by the flusher was made (0 = none). */
  get oldestDirtyMs(): number {
    return this.dirty.size === 0 ? 0 : this.dirtySinceMs;
  }

  private advance(lsn: number): void {
    assert(lsn > this.appliedLsn, `acknowledgements out of order: lsn ${lsn} after ${this.appliedLsn}`);
    this.appliedLsn = lsn;
  }
}
