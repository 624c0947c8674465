import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { attributesFromBlob } from '../session/attributes.js';
import type { SessionState } from '../session/session-state.js';

/**
 * How a Redis key and value live in the engine (docs/server.md "Keys and values").
 * Keys are any bytes ("sess:" + an express-session ID, "key:000000000042"), but engine IDs
 * are 16-128 URL-safe characters: the ID is the base64url SHA-256 of the key (43 chars),
 * and the key itself is kept as attribute `k` so SCAN can return it. The value is opaque
 * bytes: attribute `v` holds it as a JSON string when it is UTF-8 (readable in exports),
 * attribute `b` as a JSON base64 string otherwise. JSON strings never hold the blob's
 * separator characters, whatever the bytes.
 */

export function idOfKey(key: Buffer): string {
  return createHash('sha256').update(key).digest('base64url');
}

export function attributesOf(key: Buffer, value: Buffer): Record<string, string> {
  const k = JSON.stringify(key.toString('latin1'));
  return isUtf8(value) ? { k, v: JSON.stringify(value.toString('utf8')) } : { k, b: JSON.stringify(value.toString('base64')) };
}

interface Decoded {
  readonly key: Buffer;
  readonly value: Buffer;
}

// States are immutable, so each is decoded at most once: a GET of a hot key is a map lookup.
const decoded = new WeakMap<SessionState, Decoded>();

function decode(s: SessionState): Decoded {
  let d = decoded.get(s);
  if (d === undefined) {
    const attrs = attributesFromBlob(s.attrs);
    const k = attrs.get('k');
    const v = attrs.get('v');
    const b = attrs.get('b');
    d = {
      key: k === undefined ? Buffer.from(s.id, 'latin1') : Buffer.from(JSON.parse(k) as string, 'latin1'),
      value: v !== undefined ? Buffer.from(JSON.parse(v) as string, 'utf8') : b !== undefined ? Buffer.from(JSON.parse(b) as string, 'base64') : Buffer.alloc(0),
    };
    decoded.set(s, d);
  }
  return d;
}

export function valueOf(s: SessionState): Buffer {
  return decode(s).value;
}

export function keyOf(s: SessionState): Buffer {
  return decode(s).key;
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64URL_VALUE = new Map([...B64URL].map((c, i) => [c, i]));

/**
 * The SCAN position of an ID: its first 5 base64url characters as a 30-bit number. IDs are
 * hashes, so positions are uniform, and a key keeps its position for as long as it exists.
 */
export function scanPosition(id: string): number {
  let n = 0;
  for (let i = 0; i < 5; i++) n = n * 64 + (B64URL_VALUE.get(id[i]!) ?? 0);
  return n;
}

export const SCAN_POSITIONS = 2 ** 30;
