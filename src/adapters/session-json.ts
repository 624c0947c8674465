import { SessiondError } from '../errors.js';
import { EXPIRY_ISO_SLOT, EXPIRY_MS_SLOT } from '../format/constants.js';
import { blobToJsonObject, type AttributeBlob } from '../session/attributes.js';

/**
 * What the framework stores write and read back: exactly the session's JSON, as the stores
 * they replace keep it (MemoryStore, connect-redis: `JSON.stringify` in, `JSON.parse` out).
 * Each top-level property is one attribute, in the object's own order; nothing is added,
 * dropped or moved. The one rewrite: the framework's copy of the expiry (a cookie's
 * `expires`, koa's `_expire`) is stored as an expiry slot (docs/format.md §3.6) and filled
 * in from the engine's expiry on read, so moving it is a small TOUCH record and a read
 * after `touch` shows the touched expiry.
 */

/** The attributes to store and the absolute expiry (undefined: none, an idle timeout). */
export interface StoredSession {
  attributes: Record<string, string>;
  expiresAtMs: number | undefined;
}

/** JSON text of `value` as a property value, or undefined where JSON.stringify leaves the property out. */
export function jsonText(name: string, value: unknown): string | undefined {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return undefined;
  try {
    return JSON.stringify(value);
  } catch (e) {
    throw new SessiondError('SESSIOND_ATTRIBUTE_NOT_SERIALIZABLE', `attribute ${JSON.stringify(name)}: ${(e as Error).message}`, { attribute: name }, { cause: e });
  }
}

/**
 * The own enumerable properties JSON.stringify would write for `value` (after its toJSON),
 * or undefined when it would not write an object with properties (null, an array, a primitive).
 */
export function jsonEntries(value: unknown): Array<[string, unknown]> | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  const plain = typeof toJSON === 'function' ? (toJSON.call(value) as unknown) : value;
  return plain !== null && typeof plain === 'object' && !Array.isArray(plain) ? Object.entries(plain) : undefined;
}

/** Builds attributes in property order; `encode` may give a property its own text (a slot). */
export function attributesOf(entries: Array<[string, unknown]>, encode: (name: string, value: unknown) => string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of entries) {
    const text = encode(name, value);
    if (text === undefined) continue;
    // defineProperty: a plain assignment to '__proto__' would hit the setter and drop it.
    if (name === '__proto__') Object.defineProperty(out, name, { value: text, enumerable: true, writable: true, configurable: true });
    else out[name] = text;
  }
  return out;
}

/**
 * An expiry the application gave, in ms since the epoch, as the engine's expiresAtMs.
 * Before 1970 is refused (SESSIOND_INVALID_ARGUMENT): no cookie means that. The epoch
 * itself is a date long past, so the session is stored already expired (the engine's 0
 * means "no absolute expiry", which would keep it forever).
 */
export function engineExpiryMs(ms: number, argument: string): number {
  if (ms < 0) throw new SessiondError('SESSIOND_INVALID_ARGUMENT', `${argument} is before 1970 (${ms} ms)`, { argument });
  return Math.max(ms, 1);
}

/** ms since the epoch of a Date, date string or number; undefined when absent or not a date. */
export function toEpochMs(v: unknown): number | undefined {
  if (v === null || v === undefined || v === false) return undefined;
  const ms = v instanceof Date ? v.getTime() : typeof v === 'string' || typeof v === 'number' ? new Date(v).getTime() : NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

/** The ISO text a slot stands for: what JSON.stringify writes for a Date at `ms`. */
function isoJson(ms: number): string | undefined {
  const d = new Date(ms);
  // toISOString writes digits, '-', ':', '.', 'T', 'Z' and a sign: nothing JSON escapes.
  return Number.isFinite(d.getTime()) ? '"' + d.toISOString() + '"' : undefined;
}

/** The slot for a value whose JSON text is exactly the ISO form of `ms`, else its own JSON text. */
export function isoSlotOr(name: string, value: unknown, ms: number | undefined): string | undefined {
  const text = jsonText(name, value);
  return ms !== undefined && text !== undefined && text === isoJson(ms) ? EXPIRY_ISO_SLOT : text;
}

/** The slot for a value that is exactly the number `ms`, else its own JSON text. */
export function msSlotOr(name: string, value: unknown, ms: number | undefined): string | undefined {
  return ms !== undefined && value === ms ? EXPIRY_MS_SLOT : jsonText(name, value);
}

/**
 * The session object stored as `attrs`, its slots filled with `expiresAtMs`. Attributes
 * that are not JSON (saved through the engine API with another serializer) are a typed
 * error, never a SyntaxError thrown at the framework.
 */
export function sessionFromAttributes(attrs: AttributeBlob, expiresAtMs: number | undefined): Record<string, unknown> {
  let text = blobToJsonObject(attrs);
  if (text.includes(EXPIRY_ISO_SLOT)) text = text.replaceAll(EXPIRY_ISO_SLOT, (expiresAtMs !== undefined && isoJson(expiresAtMs)) || 'null');
  if (text.includes(EXPIRY_MS_SLOT)) text = text.replaceAll(EXPIRY_MS_SLOT, expiresAtMs !== undefined ? String(expiresAtMs) : 'null');
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new SessiondError('SESSIOND_SESSION_NOT_JSON', (e as Error).message, {}, { cause: e });
  }
}
