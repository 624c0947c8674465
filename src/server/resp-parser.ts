import { Buffer } from 'node:buffer';
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
/** Most arguments of a command read by the one-pass path (SET with all its options fits). */
const FAST_ARGS_MAX = 16;
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

  /** [start, end) of each argument of the command read whole (fastCommand), in buf. */
  private readonly spans = new Int32Array(FAST_ARGS_MAX * 2);

  /**
   * `onSpans`, when given, sees each command that arrived whole first, as offsets into the
   * received bytes (valid only during the call): true means it handled the command, false
   * that `onCommand` gets it as Buffers. A command split across reads goes to `onCommand`.
   */
  constructor(
    private readonly limits: RespParserLimits,
    private readonly onCommand: (args: Buffer[]) => void,
    private readonly onSpans?: (buf: Buffer, spans: Int32Array, argc: number) => boolean,
  ) {}

  /** Bytes received and not yet part of an emitted command (its length lines not counted). */
  get bufferedBytes(): number {
    return this.buf.length - this.pos + this.chunkBytes + this.argsBytes;
  }

  /** Parses what it can; throws SESSIOND_PROTOCOL (and keeps throwing it) on bad input. */
  feed(chunk: Buffer): void {
    if (this.failed !== undefined) throw this.failed;
    if (this.chunkBytes === 0 && this.pos === this.buf.length && chunk.length >= this.needBytes) {
      // Nothing left over from earlier reads (the usual case): parse the chunk itself.
      this.buf = chunk;
    } else {
      this.chunks.push(chunk);
      this.chunkBytes += chunk.length;
      if (this.buf.length - this.pos + this.chunkBytes < this.needBytes) return;
      this.buf = this.chunks.length === 1 && this.pos === this.buf.length ? chunk : Buffer.concat([this.buf.subarray(this.pos), ...this.chunks]);
      this.chunks = [];
      this.chunkBytes = 0;
    }
    this.pos = 0;
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
    if (this.fastCommand()) return true;
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

  /**
   * Reads a whole array command of at most FAST_ARGS_MAX arguments that is already in the
   * buffer, in one pass and without a Buffer per argument. Anything else (a command not
   * all here, a bad or unusual length line, too many arguments) consumes nothing and
   * returns false: the incremental path below then reads it, and throws the same errors
   * it always did. Each length line is read as the incremental path reads it: digits up
   * to the first CR, whose next byte is skipped unread.
   */
  private fastCommand(): boolean {
    const buf = this.buf;
    const len = buf.length;
    let p = this.pos + 1;
    let n = 0;
    const digitsStart = p;
    for (; p < len; p++) {
      const c = buf[p]! - 0x30;
      if (c < 0 || c > 9) break;
      n = n * 10 + c;
    }
    if (p === digitsStart || p - digitsStart > 12 || p + 1 >= len || buf[p] !== CR) return false;
    if (n === 0 || n > FAST_ARGS_MAX || n > this.limits.argsMax) return false;
    p += 2;
    const spans = this.spans;
    for (let i = 0; i < n; i++) {
      if (p >= len || buf[p] !== 0x24 /* '$' */) return false;
      const start = ++p;
      let bulkLen = 0;
      for (; p < len; p++) {
        const c = buf[p]! - 0x30;
        if (c < 0 || c > 9) break;
        bulkLen = bulkLen * 10 + c;
      }
      if (p === start || p - start > 12 || p + 1 >= len || buf[p] !== CR || bulkLen > this.limits.bulkBytesMax) return false;
      p += 2;
      if (len - p < bulkLen + 2) return false;
      spans[2 * i] = p;
      spans[2 * i + 1] = p + bulkLen;
      p += bulkLen + 2;
    }
    this.pos = p;
    if (this.onSpans?.(buf, spans, n) === true) return true;
    const args: Buffer[] = new Array<Buffer>(n);
    for (let i = 0; i < n; i++) args[i] = buf.subarray(spans[2 * i]!, spans[2 * i + 1]!);
    this.onCommand(args);
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
