import type { SessionEngine } from '../engine/session-engine.js';
import { principalOf } from '../engine/principal-of.js';
import { isExpired, makeState, type SessionState } from '../session/session-state.js';
import type { GlobalRecord } from './global-store.js';

/**
 * Through mode's copies newer than the local engine's (docs/failover.md §Local copy, in
 * memory): another server's version of a session, mirrored when a turn brings it, and the
 * last access and expiry a touch moves. Neither is a change this server acknowledges: the
 * record holds the first durably already, and a touch is no new version. Kept in memory
 * only, so neither costs a log record, its fsync nor the flusher's image write. What a
 * restart loses of them nothing needs: the versions this server knew (`known`) go with it,
 * so its next turn of every session reads the record whole. The local engine keeps what
 * this server acknowledged itself (its saves and destroys, durable before the record is
 * written) and its tombstones; the copy served is the overlay's, else the engine's.
 */
export class CopyOverlay {
  private readonly newer = new Map<string, SessionState>();

  constructor(private readonly local: SessionEngine) {}

  /** The copy: the overlay's while it lives, else the local engine's (undefined: absent or expired). */
  get(id: string): SessionState | undefined {
    const s = this.newer.get(id);
    if (s === undefined) return this.local.get(id);
    return isExpired(s, this.local.clock.now()) ? undefined : s;
  }

  /** Whether the overlay holds a copy of `id` newer than the local engine's. */
  has(id: string): boolean {
    return this.newer.has(id);
  }

  /**
   * The record as the copy of `id` (its attributes as they are: the blob is the local
   * engine's encoding too), accessed now by this server's clock, as the local engine's
   * save of it was: a record another server's lagging clock last touched is live here.
   */
  mirror(rec: GlobalRecord): SessionState {
    const principal = rec.principal !== '' ? rec.principal : principalIn(this.local, rec);
    const now = Math.max(this.local.clock.now(), rec.lastAccessAtMs);
    const s = makeState(rec.id, rec.version, 0, rec.createdAtMs, now, rec.expiresAtMs, rec.maxInactiveMs, this.local.options.owner, rec.attrs, principal);
    this.newer.set(rec.id, s);
    return s;
  }

  /** The copy with the last access and expiry a touch (or the record) moved. */
  times(s: SessionState, lastAccessAtMs: number, expiresAtMs: number): SessionState {
    const t = makeState(s.id, s.version, s.lsn, s.createdAtMs, lastAccessAtMs, expiresAtMs, s.maxInactiveMs, s.owner, s.attrs, s.principal);
    this.newer.set(s.id, t);
    return t;
  }

  /** The local engine's copy is the one again (this server saved or destroyed it), or the session is gone. */
  drop(id: string): void {
    this.newer.delete(id);
  }

  clear(): void {
    this.newer.clear();
  }

  /** The overlay's entries, for the pruner (polling.ts) to forget those no longer needed. */
  entries(): Map<string, unknown> {
    return this.newer;
  }
}

/** A record written before the store kept principals: its principal as this server's option computes it ('' when that fails). */
function principalIn(local: SessionEngine, rec: GlobalRecord): string {
  try {
    return principalOf(local.options.principal, rec.id, rec.attrs);
  } catch {
    return '';
  }
}
