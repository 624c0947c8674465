import type { SessionEngine } from '../engine/session-engine.js';
import { effectiveExpiryMs } from '../session/session-state.js';

/** What the admin page may show of one session: its metadata, never its attribute values. */
export interface SessionMetadata {
  found: boolean;
  createdAtMs?: number;
  lastAccessAtMs?: number;
  /** When it stops existing: the earlier of the absolute and the sliding expiry; 0 = never. */
  expiresAtMs?: number;
  maxInactiveMs?: number;
  /** Encoded attribute bytes. */
  sizeBytes?: number;
  owner?: string;
  version?: number;
}

/**
 * Looks one session up for the operator. The fields are picked one by one (no spread of the
 * state), so a field added to SessionState later cannot leak values here by accident.
 * The ID is not echoed back. A malformed or unknown ID is simply not found.
 */
export async function lookUpSession(engine: SessionEngine, id: string): Promise<SessionMetadata> {
  const s = await engine.read(id); // read: under cacheBytesMax the session may be on disk only
  if (s === undefined) return { found: false };
  const expiry = effectiveExpiryMs(s);
  return {
    found: true,
    createdAtMs: s.createdAtMs,
    lastAccessAtMs: s.lastAccessAtMs,
    expiresAtMs: Number.isFinite(expiry) ? expiry : 0,
    maxInactiveMs: s.maxInactiveMs,
    sizeBytes: Buffer.byteLength(s.attrs),
    owner: s.owner,
    version: s.version,
  };
}
