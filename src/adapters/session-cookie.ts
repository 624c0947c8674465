import { isValidSessionId } from '../session/session-id.js';

/**
 * Reading the session ID out of a request's Cookie header, for the serialization
 * middlewares: they run before the session middleware, so they parse the cookie
 * themselves. Anything doubtful (no cookie, bad signature, malformed ID) is "no session":
 * the request then takes no turn, and the session middleware makes a new session anyway.
 */

/** Returns the unsigned value, or false when the signature does not verify. */
export type Unsign = (signed: string) => string | false;

/** The value of cookie `name` in a Cookie header (percent-decoded like the `cookie` package), or undefined. */
export function readCookie(header: string | string[] | undefined, name: string): string | undefined {
  const text = Array.isArray(header) ? header.join('; ') : header;
  if (text === undefined || text === '') return undefined;
  // Part by part without splitting the whole header (it runs on every request).
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf(';', start);
    if (end === -1) end = text.length;
    const eq = text.indexOf('=', start);
    if (eq !== -1 && eq < end && text.slice(start, eq).trim() === name) return cookieValue(text.slice(eq + 1, end).trim());
    start = end + 1;
  }
  return undefined;
}

/** A cookie value without its quotes, percent-decoded when it can be (else as it is). */
function cookieValue(raw: string): string {
  const value = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  if (!value.includes('%')) return value; // nothing to decode
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The part before the signature (`<id>.<signature>`), for callers that do not verify. */
function withoutSignature(signed: string): string {
  const dot = signed.lastIndexOf('.');
  return dot === -1 ? signed : signed.slice(0, dot);
}

/** The session ID carried by a signed cookie value; verified when `unsign` is given. */
export function sessionIdFromSigned(signed: string | undefined, unsign: Unsign | undefined): string | undefined {
  if (signed === undefined || signed === '') return undefined;
  const id = unsign === undefined ? withoutSignature(signed) : unsign(signed);
  return id !== false && isValidSessionId(id) ? id : undefined;
}

/** Most verified cookie values remembered per middleware (oldest forgotten first). */
export const VERIFIED_COOKIES_MAX = 10_000;

/**
 * Tries each secret in turn (the first signs new cookies; the others are being rotated out).
 * A value that verified once verifies again (same bytes, same secrets), so the last
 * VERIFIED_COOKIES_MAX good values are remembered and a session's next requests skip the
 * HMAC. Failures are not remembered: a forged value costs its HMAC every time.
 */
export function unsignWithAny(secrets: readonly string[], unsignOne: (signed: string, secret: string) => string | false): Unsign {
  const verified = new Map<string, string>();
  return (signed) => {
    const known = verified.get(signed);
    if (known !== undefined) return known;
    for (const secret of secrets) {
      const v = unsignOne(signed, secret);
      if (v === false) continue;
      if (verified.size >= VERIFIED_COOKIES_MAX) verified.delete(verified.keys().next().value as string);
      verified.set(signed, v);
      return v;
    }
    return false;
  };
}
