import { assert } from '../assert.js';
import { SessiondError } from '../errors.js';
import type { Clock } from '../clock.js';
import type { SessionState } from '../session/session-state.js';
import type { SessionCache } from './session-cache.js';
import { liveState } from './live-state.js';

/**
 * The sessions of a principal (SPEC B5, the `principal` option) as SessionEngine's idsOf,
 * sessionsOf and destroyAllOf see them: from the principal index (principal-index.ts), cold
 * sessions from their summaries, never touching the disk.
 */

export function checkPrincipal(principal: unknown): asserts principal is string {
  if (typeof principal !== 'string' || principal === '') {
    throw new SessiondError('SESSIOND_INVALID_ARGUMENT', 'principal must be a non-empty string', { argument: 'principal' });
  }
}

/** The sessions of `ids` (idsOf) still of `principal` once `read` (SessionEngine.read: cold ones read back) has them, one at a time. */
export async function readSessionsOf(ids: readonly string[], principal: string, read: (id: string) => Promise<SessionState | undefined>): Promise<SessionState[]> {
  const out: SessionState[] = [];
  for (const id of ids) {
    const s = await read(id);
    if (s !== undefined && s.principal === principal) out.push(s);
  }
  return out;
}

/** IDs of the live sessions of a principal, cold ones included from their summaries. */
export function liveIdsOf(cache: SessionCache, clock: Clock, principal: string): string[] {
  checkPrincipal(principal);
  const now = clock.now();
  const out: string[] = [];
  for (const id of cache.principals.ids(principal)) {
    const expiry = cache.cold.expiryOf(id);
    if (expiry !== undefined) {
      if (expiry > now) out.push(id);
      continue;
    }
    const s = cache.visible.get(id);
    // Invariant: every change of the cache moves the index (session-cache.ts).
    assert(s !== undefined, 'the principal index names a session the cache does not hold');
    if (liveState(cache, s, now) !== undefined) out.push(id);
  }
  return out;
}

/** The live sessions of a principal; one left on disk (cacheBytesMax) throws SESSIOND_SESSION_NOT_LOADED. */
export function liveSessionsOf(cache: SessionCache, clock: Clock, principal: string): SessionState[] {
  const out: SessionState[] = [];
  for (const id of liveIdsOf(cache, clock, principal)) {
    const s = cache.durable(id); // a packed one is decoded here
    if (s === undefined && cache.cold.has(id)) throw new SessiondError('SESSIOND_SESSION_NOT_LOADED');
    // Invariant: every change of the cache moves the index (session-cache.ts).
    assert(s !== undefined, 'the principal index names a session the cache does not hold');
    const l = liveState(cache, s, clock.now());
    if (l !== undefined) out.push(l);
  }
  return out;
}

/**
 * The IDs destroyAllOf destroys: every indexed session of the principal and every pending
 * state that names it (a save appended, not yet durable), but those in `except`.
 */
export function destroyTargetsOf(cache: SessionCache, principal: string, except: string | readonly string[] | undefined): string[] {
  const keep = new Set(typeof except === 'string' ? [except] : (except ?? []));
  const targets = new Set(cache.principals.ids(principal));
  for (const s of cache.pendingStates()) if (s.principal === principal) targets.add(s.id);
  return [...targets].filter((id) => !keep.has(id));
}
