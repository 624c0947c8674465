import type { SessionState } from '../session/session-state.js';
import type { GlobalWrite } from './global-store.js';

/** What the engine knows of a session's global record: the version its local copy mirrors. */
export interface Known {
  version: number;
  createdAtMs: number;
  /** Through mode: when (performance.now()) this server last saw the record at this version (its turn, its write); lost-changes.ts recreateLost. */
  seenAt?: number;
}

/** The global write of a local session state, keeping the record's createdAtMs when known. */
export function toWrite(s: SessionState, k: Known | undefined): GlobalWrite {
  return { attrs: s.attrs, createdAtMs: k?.createdAtMs ?? s.createdAtMs, lastAccessAtMs: s.lastAccessAtMs, expiresAtMs: s.expiresAtMs, maxInactiveMs: s.maxInactiveMs, principal: s.principal };
}
