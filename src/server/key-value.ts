import { createHash } from 'node:crypto';
import { Buffer, isUtf8 } from 'node:buffer';
import { ATTR_NAME_SEP, ATTR_SEP, SESSION_ID_BYTES_MAX } from '../format/constants.js';
import { attributesFromBlob } from '../session/attributes.js';
import type { SessionState } from '../session/session-state.js';
import type { SessionEngine } from '../engine/session-engine.js';
import type { ReplyWriter } from './reply-writer.js';

/**
 * How a Redis key and value live in the engine (docs/server.md "Keys and values").
 *
 * Key mapping 2: a key that is valid UTF-8 of 1-512 bytes and does not start with a NUL
 * byte is its own engine ID, so `sessiond export`, the admin look-up and an embedded open
 * of the directory show the session IDs the clients use ("sess:" + an express-session ID).
 * Any other key (binary, empty, longer, or starting with NUL) gets the ID NUL + the
 * base64url SHA-256 of its bytes (44 characters), and keeps its bytes in attribute `k`
 * (a JSON latin1 string) so SCAN can return it. No direct ID starts with NUL and every
 * hashed one does, so two keys never share an ID (short of a SHA-256 collision).
 * Mapping 1 (before) hashed every key; serve-key-mapping.ts finds and migrates such stores.
 *
 * The value is opaque bytes: attribute `v` holds it as a JSON string when it is UTF-8
 * (readable in exports), attribute `b` as a JSON base64 string otherwise. JSON strings
 * never hold the blob's separator characters, whatever the bytes.
 */

export const HASHED_ID_PREFIX = '\u0000';

/** The engine ID of a key under mapping 2. */
export function idOfKey(key: Buffer): string {
  if (key.length > 0 && key.length <= SESSION_ID_BYTES_MAX && key[0] !== 0 && isUtf8(key)) return key.toString('utf8');
  return HASHED_ID_PREFIX + createHash('sha256').update(key).digest('base64url');
}

/**
 * idOfKey of the key at buf[start, end), without a Buffer for it: an ASCII key (the usual
 * `sess:...`) is read as one latin1 string, which is its UTF-8 reading too.
 */
export function idOfKeyAt(buf: Buffer, start: number, end: number): string {
  if (end > start && end - start <= SESSION_ID_BYTES_MAX && buf[start] !== 0) {
    let i = start;
    while (i < end && buf[i]! < 0x80) i++;
    if (i === end) return buf.toString('latin1', start, end);
  }
  return idOfKey(buf.subarray(start, end));
}

/** True when `id` is a key's own bytes (not a hash). */
export function isDirectId(id: string): boolean {
  return !id.startsWith(HASHED_ID_PREFIX);
}

/** The attribute a value is kept in: v (a JSON string of its UTF-8) or b (a JSON string of its base64). */
function valueAttribute(value: Buffer): ['v' | 'b', string] {
  return isUtf8(value) ? ['v', JSON.stringify(value.toString('utf8'))] : ['b', JSON.stringify(value.toString('base64'))];
}

/** The session attributes of `key` = `value`; `id` is idOfKey(key). */
export function attributesOf(id: string, key: Buffer, value: Buffer): Record<string, string> {
  const [name, text] = valueAttribute(value);
  if (isDirectId(id)) return name === 'v' ? { v: text } : { b: text };
  const k = JSON.stringify(key.toString('latin1'));
  return name === 'v' ? { k, v: text } : { k, b: text };
}

/**
 * Saves `key` = `value` as the key's whole session (attributesOf); resolves with the
 * engine's head state (see durablyOk in fast-commands.ts). A directly mapped key's one
 * attribute is saved with engine.saveOne: no attribute object, and an unchanged or replaced
 * value is found by comparing two strings.
 */
export function saveValue(engine: SessionEngine, id: string, key: Buffer, value: Buffer, expiresAtMs: number | undefined): Promise<SessionState> {
  if (!isDirectId(id)) return engine.save(id, { attributes: attributesOf(id, key, value), expiresAtMs });
  return isUtf8(value) ? engine.saveOne(id, 'v', JSON.stringify(value.toString('utf8')), expiresAtMs) : engine.saveOne(id, 'b', JSON.stringify(value.toString('base64')), expiresAtMs);
}

interface Decoded {
  readonly key: Buffer;
  readonly value: Buffer;
}

// States are immutable, so each is decoded at most once: a GET of a hot key is a map lookup.
const decoded = new WeakMap<SessionState, Decoded>();

/** The blob of a directly mapped key with a UTF-8 value (`{ v }`), the common case: parsed without a Map. */
const V_ONLY = `"v"${ATTR_NAME_SEP}`;
const QUOTE = 0x22;

function decode(s: SessionState): Decoded {
  let d = decoded.get(s);
  if (d === undefined && s.attrs.startsWith(V_ONLY) && !s.attrs.includes(ATTR_SEP)) {
    d = { key: Buffer.from(s.id, 'utf8'), value: Buffer.from(JSON.parse(s.attrs.slice(V_ONLY.length)) as string, 'utf8') };
    decoded.set(s, d);
  }
  if (d === undefined) {
    const attrs = attributesFromBlob(s.attrs);
    const k = attrs.get('k');
    const v = attrs.get('v');
    const b = attrs.get('b');
    d = {
      key: k === undefined ? Buffer.from(s.id, 'utf8') : Buffer.from(JSON.parse(k) as string, 'latin1'),
      value: v !== undefined ? Buffer.from(JSON.parse(v) as string, 'utf8') : b !== undefined ? Buffer.from(JSON.parse(b) as string, 'base64') : Buffer.alloc(0),
    };
    decoded.set(s, d);
  }
  return d;
}

export function valueOf(s: SessionState): Buffer {
  return decode(s).value;
}

/** Whether `a` is the blob of a `{ v }` state: its one attribute, a JSON string. */
function isValueOnly(a: string): boolean {
  return a.startsWith(V_ONLY) && a.charCodeAt(V_ONLY.length) === QUOTE && !a.includes(ATTR_SEP, V_ONLY.length);
}

/**
 * The value of a `{ v }` state (a directly mapped key, a UTF-8 value: what session stores
 * write) as text, read from the attribute blob itself: a slice of it when the JSON string
 * holds no escape, else one JSON.parse. No cache, no Buffer. Undefined for any other state
 * (valueOf decodes those).
 */
export function valueText(s: SessionState): string | undefined {
  const a = s.attrs;
  if (!isValueOnly(a)) return undefined;
  // The blob is "v"<name sep><a JSON string>: its text between the quotes, unless escaped.
  if (!a.includes('\\', V_ONLY.length)) return a.slice(V_ONLY.length + 1, a.length - 1);
  return JSON.parse(a.slice(V_ONLY.length)) as string;
}

/**
 * Most backslashes a value's JSON text has for a GET to unescape it in the reply: each costs
 * a search and a call there, so JSON.parse (one pass in C++) reads denser ones faster.
 */
const REPLY_ESCAPES_MAX = 8;
/**
 * A second backslash this close to the first marks JSON text dense with escapes (a JSON
 * document as the value, a session store's: every quote escaped), read with JSON.parse
 * without counting further.
 */
const ESCAPE_GAP_DENSE = 16;

/** Whether `a` has few backslashes from `first` (the first one) on, far enough apart to unescape them in the reply. */
function fewEscapes(a: string, first: number): boolean {
  // An escape is a backslash and at least one more character: the next one starts 2 on.
  let at = a.indexOf('\\', first + 2);
  if (at >= 0 && at - first < ESCAPE_GAP_DENSE) return false;
  for (let n = 2; at >= 0; n++) {
    if (n > REPLY_ESCAPES_MAX) return false;
    at = a.indexOf('\\', at + 2);
  }
  return true;
}

/**
 * Writes the GET reply of a live state: a bulk string of its value. A `{ v }` state's text
 * goes straight from its blob into the reply (reply-writer.ts), unescaped there when it has
 * a few escapes (redis-benchmark's value has four backslashes), with no string made from it
 * beyond the slice between its quotes.
 */
export function writeValueReply(w: ReplyWriter, s: SessionState): void {
  const a = s.attrs;
  if (!isValueOnly(a)) return w.bulkBytes(valueOf(s));
  const from = V_ONLY.length + 1;
  const escape = a.indexOf('\\', from);
  if (escape < 0) return w.bulkText(a.slice(from, a.length - 1));
  if (!fewEscapes(a, escape) || !w.bulkJsonText(a.slice(from, a.length - 1), escape - from)) w.bulkText(JSON.parse(a.slice(V_ONLY.length)) as string);
}

export function keyOf(s: SessionState): Buffer {
  return decode(s).key;
}

/**
 * The SCAN position of an ID: a 30-bit FNV-1a hash of it. Positions are spread evenly
 * whatever the keys look like ("sess:..." share a prefix), and a key keeps its position
 * for as long as it exists.
 */
export function scanPosition(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 2) & (SCAN_POSITIONS - 1);
}

export const SCAN_POSITIONS = 2 ** 30;
