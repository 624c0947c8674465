import type { AttributeBlob } from './attributes.js';

/**
 * One session as the cache holds it (SPEC E2). Immutable: every change makes a new
 * object, so a state handed to a reader never changes under it, and the cache can
 * keep the last durable state apart from a change still waiting for its fsync.
 */
export interface SessionState {
  readonly id: string;
  /** Grows by one with every change of this session. */
  readonly version: number;
  /** LSN of the last log record folded into this state. */
  readonly lsn: number;
  /** Kept as is when another server inherits the session. */
  readonly createdAtMs: number;
  readonly lastAccessAtMs: number;
  /** Absolute expiry, ms since the epoch; 0 = none. */
  readonly expiresAtMs: number;
  /** Sliding expiry: the session expires this long after its last access; 0 = none. */
  readonly maxInactiveMs: number;
  /** ID of the server that owns the session. */
  readonly owner: string;
  readonly attrs: AttributeBlob;
  /** Whose session it is (SPEC B5), from the `principal` option at the last save; '' = none. */
  readonly principal: string;
}

/** When the session stops existing: the earlier of its absolute and its sliding expiry. */
export function effectiveExpiryMs(s: SessionState): number {
  const sliding = s.maxInactiveMs > 0 ? s.lastAccessAtMs + s.maxInactiveMs : Infinity;
  const absolute = s.expiresAtMs > 0 ? s.expiresAtMs : Infinity;
  return Math.min(sliding, absolute);
}

export function isExpired(s: SessionState, nowMs: number): boolean {
  return effectiveExpiryMs(s) <= nowMs;
}

/** Builds a state with the fields in one fixed order, so every state shares one hidden class. */
export function makeState(
  id: string,
  version: number,
  lsn: number,
  createdAtMs: number,
  lastAccessAtMs: number,
  expiresAtMs: number,
  maxInactiveMs: number,
  owner: string,
  attrs: AttributeBlob,
  principal = '',
): SessionState {
  return { id, version, lsn, createdAtMs, lastAccessAtMs, expiresAtMs, maxInactiveMs, owner, attrs, principal };
}
