import { SessiondError } from '../errors.js';
import { storedFromCookieSession } from '../adapters/connect-cookie.js';
import { isValidSessionId } from '../session/session-id.js';
import type { ExportedSession } from './export-line.js';

/**
 * A session of another express-session store (connect-redis, connect-pg-simple) as an
 * export line: its attributes exactly as SessiondStore would have saved the same object
 * (src/adapters/connect-cookie.ts, expiry slot included), so after the import the express
 * store reads back the object the old store held. The expiry is the cookie's `expires`
 * when it has one (what SessiondStore stores, and what the old store derived its TTL from),
 * else the old store's own (Redis PTTL, the table's `expire`), else none. Those stores keep
 * no creation or access time: both are the time of the export.
 */

export function migrationError(source: string, detail: string, key?: string): SessiondError {
  return new SessiondError('SESSIOND_MIGRATION_SOURCE', `${source}: ${detail}`, { source, key });
}

/** `value`: the stored session object (already parsed); `storeExpiresAtMs`: the old store's expiry, undefined if none. */
export function migratedSession(source: string, key: string, id: string, value: unknown, storeExpiresAtMs: number | undefined, nowMs: number): ExportedSession {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw migrationError(source, `${key} does not hold a JSON session object`, key);
  if (!isValidSessionId(id)) throw migrationError(source, `${key}: not a valid session ID for sessiond (at most 512 UTF-8 bytes)`, key);
  const { attributes, expiresAtMs } = storedFromCookieSession(value);
  return { id, createdAtMs: nowMs, lastAccessAtMs: nowMs, expiresAtMs: expiresAtMs ?? storeExpiresAtMs ?? 0, maxInactiveMs: 0, owner: undefined, attributes };
}
