import { SessiondError } from '../errors.js';
import type { Clock } from '../clock.js';
import { isExpired, type SessionState } from '../session/session-state.js';
import type { SessionCache } from './session-cache.js';

/**
 * What a reader sees of the cache (SessionEngine's reads and listings): `s` if it has not
 * expired, with the expiry of a pending expiry-only change. The adapters answer a touch once
 * it is appended, before its fsync (a crash may lose the latest extension, never an
 * attribute), so a read after it must show the expiry it set, and an expired durable state
 * is alive if that touch extended it. A pending change of the attributes is not shown
 * before it is durable.
 */
export function liveState(cache: SessionCache, s: SessionState, now: number): SessionState | undefined {
  // Only a pending head can differ from `s` (a durable state): none, or a delete, means s.
  const h = cache.pendingState(s.id);
  if (h !== undefined && h !== s && h.attrs === s.attrs) return isExpired(h, now) ? undefined : h;
  if (!isExpired(s, now)) return s;
  return h === undefined || h === s || isExpired(h, now) ? undefined : s;
}

/**
 * Every live session. With a cache bound (`bounded`), sessions left on disk make it throw
 * SESSIOND_SESSION_NOT_LOADED unless `loadedOnly`; without one, packed sessions are decoded.
 */
export function liveStates(cache: SessionCache, clock: Clock, bounded: boolean, loadedOnly: boolean): SessionState[] {
  if (!loadedOnly && cache.cold.size > 0) {
    if (bounded) throw new SessiondError('SESSIOND_SESSION_NOT_LOADED');
    for (const id of [...cache.cold.ids()]) cache.unpack(id); // packed: decoded now
  }
  const now = clock.now();
  const out: SessionState[] = [];
  for (const s of cache.visible.values()) {
    const l = liveState(cache, s, now);
    if (l !== undefined) out.push(l);
  }
  return out;
}

/** IDs of live (unexpired) sessions, cold ones included (without loading them). */
export function liveIds(cache: SessionCache, clock: Clock): string[] {
  const ids = liveStates(cache, clock, false, true).map((s) => s.id);
  const now = clock.now();
  cache.cold.forEach((id, expiryMs) => {
    if (expiryMs > now) ids.push(id);
  });
  return ids;
}
