import type { LoadedSession } from './engine-handle.js';

/**
 * express-session and @fastify/session keep the cookie inside the session object
 * (`{ cookie: { originalMaxAge, expires, ... }, ...attributes }`). With a maxAge the
 * cookie's `expires` moves on every request; stored as an attribute it would make every
 * request rewrite the cookie attribute. So the expiry travels as the engine's expiresAtMs
 * (a small TOUCH record when only it moves) and is put back into the cookie on load.
 */

interface CookieJson {
  originalMaxAge?: unknown;
  expires?: unknown;
  originalExpires?: unknown;
  [key: string]: unknown;
}

/** ms since the epoch of a Date, date string or number; undefined when absent or invalid. */
export function toEpochMs(v: unknown): number | undefined {
  if (v === null || v === undefined || v === false) return undefined;
  const ms = v instanceof Date ? v.getTime() : typeof v === 'string' || typeof v === 'number' ? new Date(v).getTime() : NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

function cookieJson(cookie: unknown): CookieJson | undefined {
  if (cookie === null || typeof cookie !== 'object') return undefined;
  const toJSON = (cookie as { toJSON?: unknown }).toJSON;
  return { ...(typeof toJSON === 'function' ? (toJSON.call(cookie) as CookieJson) : (cookie as CookieJson)) };
}

/** A framework session → the attributes to store and the absolute expiry (undefined: a browser-session cookie). */
export function splitCookieSession(session: object): { data: Record<string, unknown>; expiresAtMs: number | undefined } {
  const { cookie, ...data } = session as { cookie?: unknown };
  const json = cookieJson(cookie);
  if (json === undefined) return { data, expiresAtMs: undefined };
  const expiresAtMs = toEpochMs(json.expires);
  // @fastify/session derives originalExpires from expires again on load.
  delete json.originalExpires;
  // A maxAge cookie's expires is rebuilt from the engine's expiry; a fixed date stays as given.
  if (typeof json.originalMaxAge === 'number') delete json.expires;
  return { data: { ...data, cookie: json }, expiresAtMs };
}

/** The stored attributes → the session object the framework expects, `cookie.expires` restored. */
export function joinCookieSession(s: LoadedSession): Record<string, unknown> {
  const cookie = s.data.cookie as CookieJson | undefined;
  if (cookie !== null && typeof cookie === 'object' && typeof cookie.originalMaxAge === 'number' && cookie.expires == null && s.expiresAtMs !== undefined) {
    cookie.expires = new Date(s.expiresAtMs).toISOString();
  }
  return s.data;
}
