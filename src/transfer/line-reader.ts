import { lineError } from './export-line.js';

/**
 * Splits a byte stream into its lines (docs/format.md §7), holding at most one line plus
 * one chunk: a line longer than `lineBytesMax` is refused as soon as that many bytes have
 * arrived without a newline, never buffered whole. Empty lines are skipped (but counted).
 */

export interface NumberedLine {
  /** 1-based */
  readonly line: number;
  readonly text: string;
}

const NL = 0x0a;
const CR = 0x0d;

export async function* readLines(source: AsyncIterable<Uint8Array | string>, lineBytesMax: number): AsyncGenerator<NumberedLine> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let line = 0;
  const finish = (bytes: Buffer): NumberedLine | undefined => {
    line++;
    const end = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length;
    if (end > lineBytesMax) throw lineError(line, 'line', `longer than lineBytesMax (${lineBytesMax} bytes)`);
    let text: string;
    try {
      text = decoder.decode(bytes.subarray(0, end));
    } catch {
      throw lineError(line, 'line', 'not UTF-8');
    }
    return text.trim() === '' ? undefined : { line, text };
  };
  for await (const chunk of source) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let nl = buf.indexOf(NL, start); nl !== -1; nl = buf.indexOf(NL, start)) {
      const piece = buf.subarray(start, nl);
      const bytes = pending.length === 0 ? piece : Buffer.concat([...pending, piece]);
      pending = [];
      pendingBytes = 0;
      start = nl + 1;
      const l = finish(bytes);
      if (l !== undefined) yield l;
    }
    if (start < buf.length) {
      pending.push(buf.subarray(start));
      pendingBytes += buf.length - start;
      // +1: the line may still end in "\r\n"; its \r is not counted.
      if (pendingBytes > lineBytesMax + 1) throw lineError(line + 1, 'line', `longer than lineBytesMax (${lineBytesMax} bytes)`);
    }
  }
  if (pendingBytes > 0) {
    const l = finish(Buffer.concat(pending));
    if (l !== undefined) yield l;
  }
}
