import { SessiondError } from '../errors.js';
import { splitInlineArgs } from './inline-args.js';

/**
 * Incremental RESP2 request parser (docs/server.md): arrays of bulk strings, as every
 * client library sends, and inline commands (`PING\r\n`), as redis-benchmark and telnet
 * send. Bytes arrive in arbitrary chunks; a command is emitted once all of it is here.
 * Every length is bounded before anything is allocated, so a hostile client costs at
 * most `bulkBytesMax` (or `inlineBytesMax`) bytes of buffer before its connection closes.
 */

export interface RespParserLimits {
  /** Largest bulk string (one key or value). */
  readonly bulkBytesMax: number;
  /** Most arguments in one command. */
  readonly argsMax: number;
  /** Longest inline command, or length line (`*123\r\n`) still without its newline. */
  readonly inlineBytesMax: number;
}

const CR = 13;
const LF = 10;

function protocolError(detail: string): SessiondError {
  // The message after "Protocol error: " is what redis-server sends for the same input.
  return new SessiondError('SESSIOND_PROTOCOL', detail, { reply: `Protocol error: ${detail}` });
}

export class RespParser {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** Chunks received while waiting for `needBytes` bytes (concatenated once, not per chunk). */
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  private needBytes = 1;
  /** Arguments of the array command being read; undefined between commands. */
  private args: Buffer[] | undefined;
  private argsLeft = 0;
  /** Bytes of `args`, so an unfinished command of many arguments counts against the limits. */
  private argsBytes = 0;
  /** Length of the bulk string whose body is awaited; -1 when a `$` line is awaited. */
  private bulkLen = -1;
  private failed: SessiondError | undefined;

  constructor(
    private readonly limits: RespParserLimits,
    private readonly onCommand: (args: Buffer[]) => void,
  ) {}

  /** Bytes received and not yet part of an emitted command (its length lines not counted). */
  get bufferedBytes(): number {
    return this.buf.length - this.pos + this.chunkBytes + this.argsBytes;
  }

  /** Parses what it can; throws SESSIOND_PROTOCOL (and keeps throwing it) on bad input. */
  feed(chunk: Buffer): void {
    if (this.failed !== undefined) throw this.failed;
    this.chunks.push(chunk);
    this.chunkBytes += chunk.length;
    if (this.buf.length - this.pos + this.chunkBytes < this.needBytes) return;
    this.buf = this.chunks.length === 1 && this.pos === this.buf.length ? chunk : Buffer.concat([this.buf.subarray(this.pos), ...this.chunks]);
    this.pos = 0;
    this.chunks = [];
    this.chunkBytes = 0;
    try {
      this.parse();
    } catch (e) {
      this.failed = e as SessiondError;
      throw e;
    }
  }

  private parse(): void {
    for (;;) {
      const more = this.args === undefined ? this.startCommand() : this.readArg();
      if (!more) return;
    }
  }

  /** Reads a `*N` header or a whole inline command; false when more bytes are needed. */
  private startCommand(): boolean {
    if (this.pos >= this.buf.length) return this.wait(1);
    if (this.buf[this.pos] !== 0x2a /* '*' */) return this.readInline();
    const end = this.buf.indexOf(CR, this.pos);
    if (end === -1 || end + 1 >= this.buf.length) {
      if (this.buf.length - this.pos > this.limits.inlineBytesMax) throw protocolError('too big mbulk count string');
      return this.wait(this.buf.length - this.pos + 1);
    }
    const n = parseLength(this.buf, this.pos + 1, end);
    if (n === undefined || n > this.limits.argsMax) throw protocolError('invalid multibulk length');
    this.pos = end + 2;
    if (n <= 0) return true; // `*0` and `*-1` are no command at all, as in redis-server
    this.args = [];
    this.argsLeft = n;
    this.bulkLen = -1;
    return true;
  }

  private readArg(): boolean {
    if (this.bulkLen === -1) {
      if (this.pos >= this.buf.length) return this.wait(1);
      if (this.buf[this.pos] !== 0x24 /* '$' */) throw protocolError(`expected '$', got '${String.fromCharCode(this.buf[this.pos]!)}'`);
      const end = this.buf.indexOf(CR, this.pos);
      if (end === -1 || end + 1 >= this.buf.length) {
        if (this.buf.length - this.pos > this.limits.inlineBytesMax) throw protocolError('too big bulk count string');
        return this.wait(this.buf.length - this.pos + 1);
      }
      const len = parseLength(this.buf, this.pos + 1, end);
      if (len === undefined || len < 0 || len > this.limits.bulkBytesMax) throw protocolError('invalid bulk length');
      this.pos = end + 2;
      this.bulkLen = len;
    }
    // The body and its CRLF; like redis-server, the two bytes after the body are skipped unread.
    if (this.buf.length - this.pos < this.bulkLen + 2) return this.wait(this.bulkLen + 2);
    this.args!.push(this.buf.subarray(this.pos, this.pos + this.bulkLen));
    this.argsBytes += this.bulkLen;
    this.pos += this.bulkLen + 2;
    this.bulkLen = -1;
    if (--this.argsLeft === 0) {
      const args = this.args!;
      this.args = undefined;
      this.argsBytes = 0;
      this.onCommand(args);
    }
    return true;
  }

  private readInline(): boolean {
    const nl = this.buf.indexOf(LF, this.pos);
    if (nl === -1) {
      if (this.buf.length - this.pos > this.limits.inlineBytesMax) throw protocolError('too big inline request');
      return this.wait(this.buf.length - this.pos + 1);
    }
    const lineEnd = nl > this.pos && this.buf[nl - 1] === CR ? nl - 1 : nl;
    const line = this.buf.toString('latin1', this.pos, lineEnd);
    this.pos = nl + 1;
    const parts = splitInlineArgs(line);
    if (parts === undefined) throw protocolError('unbalanced quotes in request');
    if (parts.length > this.limits.argsMax) throw protocolError('invalid multibulk length');
    if (parts.length > 0) this.onCommand(parts.map((p) => Buffer.from(p, 'latin1')));
    return true;
  }

  /** Needs `bytes` unparsed bytes before parsing can go on. */
  private wait(bytes: number): false {
    this.needBytes = bytes;
    return false;
  }
}

/** A decimal integer from buf[start, end), or undefined when it is not one (or too long). */
function parseLength(buf: Buffer, start: number, end: number): number | undefined {
  if (end === start || end - start > 12) return undefined;
  let i = start;
  let negative = false;
  if (buf[i] === 0x2d /* '-' */) {
    negative = true;
    i++;
    if (i === end) return undefined;
  }
  let n = 0;
  for (; i < end; i++) {
    const c = buf[i]! - 0x30;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return negative ? -n : n;
}
