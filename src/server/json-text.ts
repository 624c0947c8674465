/**
 * The text of a JSON string, unescaped in place in its UTF-8 bytes: a GET of a value kept
 * as JSON text (key-value.ts) writes the escaped text into the reply and unescapes it there,
 * with no JSON.parse and no string per GET. Unescaping never lengthens the bytes (`\n` is 2
 * bytes for 1, `\uXXXX` 6 for at most 3, a surrogate pair's 12 for 4).
 */

const BACKSLASH = 0x5c;

/** The value of four hex digits at buf[at, at + 4), or -1. */
function hex4(buf: Buffer, at: number, end: number): number {
  if (at + 4 > end) return -1;
  let n = 0;
  for (let i = at; i < at + 4; i++) {
    const c = buf[i]!;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 ? (c | 0x20) - 0x61 + 10 : -1;
    if (d < 0) return -1;
    n = n * 16 + d;
  }
  return n;
}

/** Writes code point `cp` (not a surrogate) as UTF-8 at `w`; returns where it ends. */
function utf8At(buf: Buffer, w: number, cp: number): number {
  if (cp < 0x80) {
    buf[w++] = cp;
  } else if (cp < 0x800) {
    buf[w++] = 0xc0 | (cp >> 6);
    buf[w++] = 0x80 | (cp & 0x3f);
  } else if (cp < 0x10000) {
    buf[w++] = 0xe0 | (cp >> 12);
    buf[w++] = 0x80 | ((cp >> 6) & 0x3f);
    buf[w++] = 0x80 | (cp & 0x3f);
  } else {
    buf[w++] = 0xf0 | (cp >> 18);
    buf[w++] = 0x80 | ((cp >> 12) & 0x3f);
    buf[w++] = 0x80 | ((cp >> 6) & 0x3f);
    buf[w++] = 0x80 | (cp & 0x3f);
  }
  return w;
}

/** The byte a one-letter escape (`\n` ...) stands for, or -1. */
function simpleEscape(c: number): number {
  switch (c) {
    case 0x22: // "
    case 0x5c: // \
    case 0x2f: // /
      return c;
    case 0x62: // b
      return 0x08;
    case 0x66: // f
      return 0x0c;
    case 0x6e: // n
      return 0x0a;
    case 0x72: // r
      return 0x0d;
    case 0x74: // t
      return 0x09;
    default:
      return -1;
  }
}

/** Where the escape escapeAt last read ends (a second result, without an object per escape). */
let escapeEnd = 0;

/**
 * Decodes the escape at buf[r] (a backslash) into buf at w (w <= r): returns where its
 * bytes end, and sets escapeEnd to where the escape ends; -1 for an escape JSON does not
 * have, a cut one, or a lone surrogate (JSON.stringify escapes those; their UTF-8 needs
 * the text around them).
 */
function escapeAt(buf: Buffer, r: number, end: number, w: number): number {
  if (r + 1 >= end) return -1;
  const e = buf[r + 1]!;
  if (e !== 0x75 /* u */) {
    const b = simpleEscape(e);
    if (b < 0) return -1;
    buf[w] = b;
    escapeEnd = r + 2;
    return w + 1;
  }
  let cp = hex4(buf, r + 2, end);
  if (cp < 0) return -1;
  r += 6;
  if (cp >= 0xd800 && cp <= 0xdfff) {
    // Only a high surrogate escaped right before a low one is a character of its own.
    const low = cp <= 0xdbff && buf[r] === BACKSLASH && buf[r + 1] === 0x75 ? hex4(buf, r + 2, end) : -1;
    if (low < 0xdc00 || low > 0xdfff) return -1;
    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    r += 6;
  }
  escapeEnd = r;
  return utf8At(buf, w, cp);
}

/** Runs shorter than this between escapes are moved byte by byte: a copyWithin call costs more. */
const RUN_COPY_BYTES_MIN = 16;

/**
 * Unescapes the UTF-8 bytes of a JSON string's body (no quotes) at buf[from, end) in place;
 * returns the new end, or -1 (escapeAt): the caller then takes JSON.parse's reading. `from`
 * may be any byte before the first backslash.
 */
export function unescapeJsonBytes(buf: Buffer, from: number, end: number): number {
  let r = from;
  while (r < end && buf[r] !== BACKSLASH) r++;
  let w = r;
  while (r < end) {
    const c = buf[r]!;
    if (c !== BACKSLASH) {
      buf[w++] = c;
      r++;
      continue;
    }
    w = escapeAt(buf, r, end, w);
    if (w < 0) return -1;
    r = escapeEnd;
  }
  return w;
}

/**
 * unescapeJsonBytes for an ASCII body: `text` was written as is at buf[body, end), one byte
 * a character, with its first backslash at index `firstEscape`. The escapes are found in
 * the string (indexOf) and the runs between them moved with copyWithin: a JS loop over
 * every byte costs several times more.
 */
export function unescapeAsciiJson(buf: Buffer, body: number, end: number, text: string, firstEscape: number): number {
  let e = firstEscape;
  let w = body + e;
  for (;;) {
    w = escapeAt(buf, body + e, end, w);
    if (w < 0) return -1;
    const r = escapeEnd;
    e = text.indexOf('\\', r - body);
    const runEnd = e < 0 ? end : body + e;
    if (runEnd - r >= RUN_COPY_BYTES_MIN) buf.copyWithin(w, r, runEnd);
    else for (let i = r; i < runEnd; i++) buf[w + i - r] = buf[i]!;
    w += runEnd - r;
    if (e < 0) return w;
  }
}
