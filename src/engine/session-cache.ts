import { assert } from '../assert.js';
import type { SessionState } from '../session/session-state.js';
import { decodeImageState } from '../session/session-decoder.js';
import type { Encryption } from '../session/attr-seal.js';
import { PAYLOAD_LAYOUT_V3 } from '../format/constants.js';
import { PrincipalIndex } from './principal-index.js';
import { ColdSessions } from './cold-sessions.js';
import { LoadedSessions, type CacheEntry } from './loaded-sessions.js';

/**
 * The database cache (SPEC E5, claim 13e): every live session in memory, indexed by ID.
 *
 * `visible` holds only states whose log record is durable: a reader never sees a change
 * that a crash could still take back. A change waiting for its fsync lives in `heads`,
 * which the next writer of the same session builds on, so concurrent changes chain in
 * log order. `null` in heads is a delete waiting for its fsync.
 */
export class SessionCache {
  readonly visible = new LoadedSessions();
  /**
   * Sessions durable in the database file but not loaded (cacheBytesMax, docs/memory.md).
   * A cold session has no head and is never dirty: every change loads it first.
   */
  readonly cold = new ColdSessions();
  private readonly heads = new Map<string, SessionState | null>();
  /** Entries whose visible state changed since the flusher last took them (CacheEntry.dirty). */
  private dirty: CacheEntry[] = [];
  private dirtySinceMs = 0;
  /** Highest LSN applied to `visible`; acknowledgements arrive in LSN order. */
  appliedLsn = 0;
  /**
   * principal → IDs of the sessions, loaded or cold (a cold one keeps its principal in its
   * summary, cold-sessions.ts); every change below moves it (principal-index.ts). Loading
   * and evicting do not change it: a session keeps its principal across both.
   */
  readonly principals = new PrincipalIndex();

  /** `encryption`: opens the sealed attributes of packed images (docs/format.md §3.7). */
  constructor(private readonly encryption?: Encryption) {}

  /** The principal of a session, loaded or cold; '' when none or absent. */
  principalOf(id: string): string {
    return this.principalBefore(id, this.visible.get(id));
  }

  /** principalOf, given the loaded state of `id` (or undefined): no second look-up. */
  private principalBefore(id: string, loaded: SessionState | undefined): string {
    if (loaded !== undefined) return loaded.principal;
    return this.cold.size === 0 ? '' : (this.cold.principalOf(id) ?? '');
  }

  /** Rebuilds the principal index from every loaded and cold session (after recovery). */
  rebuildPrincipals(): void {
    this.principals.rebuild(this.visible.values());
    this.cold.forEachPrincipal((id, principal) => this.principals.move(id, '', principal));
  }

  /** Whether the session exists, loaded or cold (expired ones included until reclaimed). */
  has(id: string): boolean {
    return this.visible.has(id) || this.cold.has(id);
  }

  /** The latest logged state (pending or durable), or undefined when absent or deleted. */
  head(id: string): SessionState | undefined {
    const h = this.heads.get(id);
    if (h === null) return undefined;
    return h ?? this.visible.get(id) ?? this.unpack(id);
  }

  /** The durable state, decoding it from the arena on first access (cold-sessions.ts). */
  durable(id: string): SessionState | undefined {
    return this.visible.get(id) ?? this.unpack(id);
  }

  /**
   * Decodes a packed session into `visible`; undefined when `id` is not packed. Its image
   * passed the crc check of the open scan, so a decode failure is a broken invariant.
   */
  unpack(id: string): SessionState | undefined {
    if (this.cold.size === 0) return undefined; // no look-up for a new session of an unbounded cache
    const p = this.cold.packed(id);
    if (p === undefined) return undefined;
    const s = decodeImageState(p.data, id, p.lsn, PAYLOAD_LAYOUT_V3, this.encryption);
    this.cold.delete(id);
    this.visible.set(id, s);
    return s;
  }

  /**
   * The state a change of `id` waiting for its fsync will make, or undefined when none
   * waits or the change is a delete: one look-up, where head() falls back to visible.
   */
  pendingState(id: string): SessionState | undefined {
    return this.heads.get(id) ?? undefined;
  }

  /** Whether a change of `id` waits for its fsync. */
  hasPending(id: string): boolean {
    return this.heads.has(id);
  }

  setHead(id: string, state: SessionState | null): void {
    this.heads.set(id, state);
  }

  /** A logged change is durable: make it visible. One look-up in the loaded map (its entry). */
  apply(state: SessionState, nowMs: number): void {
    this.advance(state.lsn);
    const id = state.id;
    const e = this.visible.entryFor(id);
    this.principals.move(id, this.principalBefore(id, e.state), state.principal);
    this.visible.setIn(e, state);
    if (this.heads.get(id) === state) this.heads.delete(id);
    this.markEntryDirty(e, nowMs);
  }

  /** A logged delete is durable. */
  applyDelete(id: string, lsn: number, nowMs: number): void {
    this.advance(lsn);
    const e = this.visible.entryFor(id);
    this.principals.move(id, this.principalBefore(id, e.state), '');
    this.markEntryDirty(e, nowMs); // first: a dirty entry stays in the map without its state
    this.visible.clearIn(e);
    if (this.heads.get(id) === null) this.heads.delete(id);
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
    this.principals.move(id, this.principalOf(id), '');
    this.visible.delete(id);
    this.cold.delete(id);
    this.markDirty(id, nowMs);
  }

  /** Drops an expired loaded session the flusher found (no log record, no new dirty mark). */
  dropExpired(id: string): void {
    this.principals.move(id, this.principalOf(id), '');
    this.visible.delete(id);
  }

  /** Whether the flusher has yet to take `id` (an evicted session must not be). */
  isDirty(id: string): boolean {
    return this.visible.entryOf(id)?.dirty === true;
  }

  /** `id` changed (loaded or not: a delete, a packed session): the flusher takes it next. */
  markDirty(id: string, nowMs: number): void {
    this.markEntryDirty(this.visible.entryFor(id), nowMs);
  }

  private markEntryDirty(e: CacheEntry, nowMs: number): void {
    if (e.dirty) return;
    if (this.dirty.length === 0) this.dirtySinceMs = nowMs;
    e.dirty = true;
    this.dirty.push(e);
  }

  /**
   * Hands the dirty entries to the flusher (in the order they were first marked) and starts
   * a new list; an entry left with no state is dropped from the loaded map. A taken entry
   * that has a state is still the map's entry of its ID (one never regains a state once out).
   */
  takeDirty(): readonly CacheEntry[] {
    const d = this.dirty;
    this.dirty = [];
    for (const e of d) {
      e.dirty = false;
      if (e.state === undefined) this.visible.dropEmpty(e);
    }
    return d;
  }

  get dirtyCount(): number {
    return this.dirty.length;
  }

  /** When the oldest change not yet taken by the flusher was made (0 = none). */
  get oldestDirtyMs(): number {
    return this.dirty.length === 0 ? 0 : this.dirtySinceMs;
  }

  private advance(lsn: number): void {
    assert(lsn > this.appliedLsn, `acknowledgements out of order: lsn ${lsn} after ${this.appliedLsn}`);
    this.appliedLsn = lsn;
  }
}
