import { randomBytes } from 'node:crypto';

/** 18 random bytes = 144 bits of entropy, 24 URL-safe characters. */
export const SESSION_ID_RANDOM_BYTES = 18;
/** Accepted lengths for incoming IDs: other generators (uid-safe, UUIDs) must pass too. */
export const SESSION_ID_CHARS_MIN = 16;
export const SESSION_ID_CHARS_MAX = 128;

const ID_PATTERN = /^[A-Za-z0-9_-]+$/;

/** A new session ID from crypto.randomBytes: base64url, 144 bits. */
export function generateSessionId(): string {
  return randomBytes(SESSION_ID_RANDOM_BYTES).toString('base64url');
}

/**
 * True when `id` is a well-formed session ID: a string of 16..128 characters from the
 * URL-safe alphabet. Callers treat an invalid ID as an absent session, never as an error page.
 */
export function isValidSessionId(id: unknown): id is string {
  return (
    typeof id === 'string' &&
    id.length >= SESSION_ID_CHARS_MIN &&
    id.length <= SESSION_ID_CHARS_MAX &&
    ID_PATTERN.test(id)
  );
}
