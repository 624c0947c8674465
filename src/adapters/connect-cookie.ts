import { engineExpiryMs, attributesOf, isoSlotOr, jsonEntries, jsonText, toEpochMs, type StoredSession } from './session-json.js';

/**
 * express-session and @fastify/session keep the cookie inside the session object
 * (`{ cookie: { originalMaxAge, expires, ... }, ...attributes }`). With a maxAge the
 * cookie's `expires` moves on every request: it is the session's expiry, so it travels as
 * the engine's expiresAtMs and the cookie attribute keeps an expiry slot in its place
 * (session-json.ts). Everything else is stored as JSON.stringify would write it.
 */

/** A framework session → its attributes and absolute expiry (undefined: no cookie expiry, an idle timeout). */
export function storedFromCookieSession(session: object): StoredSession {
  const entries = jsonEntries(session) ?? [];
  const cookieEntries = jsonEntries(entries.find(([name]) => name === 'cookie')?.[1]);
  if (cookieEntries === undefined) return { attributes: attributesOf(entries, jsonText), expiresAtMs: undefined };
  const ms = toEpochMs(cookieEntries.find(([name]) => name === 'expires')?.[1]);
  const expiresAtMs = ms === undefined ? undefined : engineExpiryMs(ms, 'cookie.expires');
  // Only an expiry stored as it was given can stand in for the cookie's own (not the epoch, moved to 1 ms).
  const slotMs = ms === expiresAtMs ? ms : undefined;
  const cookieText = (): string => {
    const parts: string[] = [];
    for (const [name, value] of cookieEntries) {
      const text = name === 'expires' ? isoSlotOr(name, value, slotMs) : jsonText(name, value);
      if (text !== undefined) parts.push(JSON.stringify(name) + ':' + text);
    }
    return '{' + parts.join(',') + '}';
  };
  const attributes = attributesOf(entries, (name, value) => (name === 'cookie' ? cookieText() : jsonText(name, value)));
  return { attributes, expiresAtMs };
}

/** The expiry a touch moves the session to: the cookie's `expires`, with the rules of a save. */
export function touchedExpiryMs(session: unknown): number | undefined {
  const cookie = (session as { cookie?: unknown } | null | undefined)?.cookie;
  if (cookie === null || typeof cookie !== 'object') return undefined;
  const ms = toEpochMs((cookie as { expires?: unknown }).expires);
  return ms === undefined ? undefined : engineExpiryMs(ms, 'cookie.expires');
}
