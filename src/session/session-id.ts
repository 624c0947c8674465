import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { SessiondError } from '../errors.js';
import { SESSION_ID_BYTES_MAX } from '../format/constants.js';

/** 18 random bytes = 144 bits of entropy, 24 URL-safe characters. */
export const SESSION_ID_RANDOM_BYTES = 18;
/**
 * Incoming IDs are whatever the application's middleware makes (express-session `genid`,
 * koa-session `prefix` + uuid, connect-redis users' own schemes): any non-empty,
 * well-formed Unicode string of at most this many UTF-8 bytes (the `str16 id` of every
 * payload carries it, docs/format.md §3).
 */
export { SESSION_ID_BYTES_MAX };

/** A new session ID from crypto.randomBytes: base64url, 144 bits. */
export function generateSessionId(): string {
  return randomBytes(SESSION_ID_RANDOM_BYTES).toString('base64url');
}

/** String.prototype.isWellFormed (Node 20; not yet in TypeScript's ES2023 lib). */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * True when `id` can name a session: a non-empty string of at most SESSION_ID_BYTES_MAX
 * UTF-8 bytes with no lone surrogate. A lone surrogate has no UTF-8 form (it would be
 * stored as U+FFFD, so two different IDs would name one session after a restart): such an
 * ID is refused, like an oversized one. Callers treat an invalid ID as an absent session
 * on reads and answer SESSIOND_INVALID_SESSION_ID on writes, never an error page.
 */
export function isValidSessionId(id: unknown): id is string {
  return (
    typeof id === 'string' &&
    id.length > 0 &&
    // Every UTF-16 unit is at least one UTF-8 byte: the length check is a cheap first bound.
    id.length <= SESSION_ID_BYTES_MAX &&
    isWellFormed(id) &&
    Buffer.byteLength(id, 'utf8') <= SESSION_ID_BYTES_MAX
  );
}

/** The error a write with an invalid ID gets (the same words from the engine and every adapter). */
export function invalidSessionIdError(): SessiondError {
  return new SessiondError(
    'SESSIOND_INVALID_SESSION_ID',
    `expected a non-empty string of at most ${SESSION_ID_BYTES_MAX} UTF-8 bytes without lone surrogates`,
    { bytesMax: SESSION_ID_BYTES_MAX },
  );
}
