/**
 * Writes RESP replies straight into a block of bytes (docs/server.md "Replies"): the
 * replies of a whole pipeline become one Buffer, and so one socket write, without a Buffer
 * or a string per part. A Connection fills it and takes it within one synchronous flush,
 * so one writer serves every connection (`sharedReplyWriter`). take() hands out a view of
 * the block, not a copy, and later replies go after it (or into a new block): bytes handed
 * out are never written again, however long the socket holds them.
 */

import { Buffer } from 'node:buffer';
import { unescapeAsciiJson, unescapeJsonBytes } from './json-text.js';
import type { Protocol, Reply } from './resp-serializer.js';

const CR_LF = 0x0a0d; // "\r\n" as a little-endian uint16

/** A block bigger than this is dropped after use, so one huge pipeline does not pin its memory. */
const KEEP_BYTES_MAX = 1024 * 1024;
/** The size of a new block: a view handed out keeps at most this much memory alive beyond its own bytes. */
const BLOCK_BYTES = 16 * 1024;

/** Simple strings and errors cannot hold CR or LF; redis-server replaces them with spaces too. */
function line(s: string): string {
  return /[\r\n]/.test(s) ? s.replace(/[\r\n]/g, ' ') : s;
}

/** Decimal digits of a non-negative integer. */
function digitsOf(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

export class ReplyWriter {
  private buf = Buffer.allocUnsafe(BLOCK_BYTES);
  /** Where the bytes not yet taken start in `buf`; before it, bytes handed out by take(). */
  private start = 0;
  /** Where the next byte goes in `buf`. */
  private length = 0;

  /** Bytes written since the last take(). */
  get pendingBytes(): number {
    return this.length - this.start;
  }

  /** Room for `bytes` more bytes: a new block when this one is full, with the bytes not yet taken. */
  private ensure(bytes: number): void {
    if (this.length + bytes <= this.buf.length) return;
    const pending = this.length - this.start;
    const next = Buffer.allocUnsafe(Math.max(pending + bytes, pending * 2, BLOCK_BYTES));
    this.buf.copy(next, 0, this.start, this.length);
    this.buf = next;
    this.start = 0;
    this.length = pending;
  }

  /** One byte a character (latin1), as redis-server writes status lines. */
  private ascii(s: string): void {
    const n = s.length;
    this.ensure(n);
    if (n > 64) {
      this.length += this.buf.write(s, this.length, 'latin1');
      return;
    }
    const b = this.buf;
    let at = this.length;
    for (let i = 0; i < n; i++) b[at++] = s.charCodeAt(i) & 0xff;
    this.length = at;
  }

  /** `<type><n>\r\n` for an integer n (a length, a count, or an integer reply). */
  private header(type: number, n: number): void {
    if (!Number.isSafeInteger(n)) {
      this.ascii(`${String.fromCharCode(type)}${n}\r\n`);
      return;
    }
    this.ensure(24);
    this.length = this.headerAt(this.length, type, n);
  }

  /** Writes `<type><n>\r\n` at `at` (room already ensured); returns where it ends. */
  private headerAt(at: number, type: number, n: number): number {
    const b = this.buf;
    b[at++] = type;
    if (n < 0) {
      b[at++] = 0x2d; // '-'
      n = -n;
    }
    const d = digitsOf(n);
    for (let i = d - 1; i >= 0; i--) {
      b[at + i] = 0x30 + (n % 10);
      n = Math.floor(n / 10);
    }
    at += d;
    b.writeUInt16LE(CR_LF, at);
    return at + 2;
  }

  private crlf(): void {
    this.ensure(2);
    this.buf.writeUInt16LE(CR_LF, this.length);
    this.length += 2;
  }

  /** A bulk string of raw bytes. */
  bulkBytes(bytes: Uint8Array): void {
    this.header(0x24 /* $ */, bytes.length);
    this.ensure(bytes.length + 2);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
    this.crlf();
  }

  /**
   * A bulk string of `text` as UTF-8. The text is written first, after room for a header
   * sized from its character count (exact for ASCII), and moved only when the UTF-8 byte
   * count has more digits: no separate pass to count the bytes.
   */
  bulkText(text: string): void {
    const body = this.textAfterHeaderRoom(text);
    this.finishBulk(this.length, body, body + this.buf.write(text, body, 'utf8'));
  }

  /**
   * A bulk string of what the body of a JSON string (`escaped`, without its quotes, a
   * backslash at index `firstEscape`) stands for, as UTF-8: written as it is, as bulkText,
   * then unescaped in place (json-text.ts), with no JSON.parse and no string for the text.
   * False, with nothing written, when the escapes need JSON.parse (a lone surrogate, a bad
   * escape).
   */
  bulkJsonText(escaped: string, firstEscape: number): boolean {
    const body = this.textAfterHeaderRoom(escaped);
    const written = this.buf.write(escaped, body, 'utf8');
    // All ASCII (one byte a character), the usual case: the escapes' byte offsets are their indexes.
    const end = written === escaped.length ? unescapeAsciiJson(this.buf, body, body + written, escaped, firstEscape) : unescapeJsonBytes(this.buf, body, body + written);
    if (end < 0) return false;
    this.finishBulk(this.length, body, end);
    return true;
  }

  /**
   * Room for a bulk string of `text` (UTF-8 takes at most 3 bytes a UTF-16 unit) from
   * `length`, which it leaves where it is (a new block may move it): where the body starts.
   */
  private textAfterHeaderRoom(text: string): number {
    const chars = text.length;
    const guess = digitsOf(chars);
    // The byte count has at most one digit more than the character count.
    this.ensure(1 + guess + 1 + 2 + chars * 3 + 2);
    return this.length + 1 + guess + 2;
  }

  /** Ends the bulk string at `start` whose body is at [body, end): its header, the body moved if needed, CRLF. */
  private finishBulk(start: number, body: number, end: number): void {
    const bytes = end - body;
    const digits = digitsOf(bytes);
    const at = start + 1 + digits + 2;
    if (at !== body) this.buf.copyWithin(at, body, end);
    this.headerAt(start, 0x24 /* $ */, bytes);
    this.buf.writeUInt16LE(CR_LF, at + bytes);
    this.length = at + bytes + 2;
  }

  /** Appends the encoding of `r` (RESP2, or RESP3 after HELLO 3). */
  reply(r: Reply, proto: Protocol): void {
    switch (r.t) {
      case 'simple':
        this.ascii(`+${line(r.s)}\r\n`);
        return;
      case 'error':
        this.ascii(`-${line(r.s)}\r\n`);
        return;
      case 'int':
        this.header(0x3a /* : */, r.n);
        return;
      case 'bulk':
        if (typeof r.b === 'string') this.bulkText(r.b);
        else this.bulkBytes(r.b);
        return;
      case 'null':
        this.ascii(proto === 3 ? '_\r\n' : '$-1\r\n');
        return;
      case 'array':
        this.header(0x2a /* * */, r.items.length);
        for (const item of r.items) this.reply(item, proto);
        return;
      case 'map':
        if (proto === 3) this.header(0x25 /* % */, r.entries.length);
        else this.header(0x2a /* * */, r.entries.length * 2);
        for (const [k, v] of r.entries) {
          this.reply(k, proto);
          this.reply(v, proto);
        }
        return;
      case 'raw':
        this.ensure(r.bytes.length);
        this.buf.set(r.bytes, this.length);
        this.length += r.bytes.length;
        return;
    }
  }

  /** The bytes written since the last take(): a view of them, never written again (see above). */
  take(): Buffer {
    const out = this.buf.subarray(this.start, this.length);
    this.start = this.length;
    if (this.buf.length > KEEP_BYTES_MAX) {
      this.buf = Buffer.allocUnsafe(BLOCK_BYTES);
      this.start = this.length = 0;
    }
    return out;
  }
}

/** The one writer of the process: filled and taken within one synchronous flush. */
export const sharedReplyWriter = new ReplyWriter();
