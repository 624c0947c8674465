// Shared helpers of the log tests: build log files byte by byte, read them back whole,
// and wrap a FileSystem to hold or count its calls.
import type { FileHandle, FileSystem, OpenMode } from '../../src/fs/file-system.js';
import { DB_OFFSET_NONE, LOG_HEADER_BYTES, RecordType } from '../../src/format/constants.js';
import { encodeLogHeader, type LogHeader } from '../../src/log/log-header.js';
import { readLog, type LogReadOptions, type LogReadResult } from '../../src/log/log-reader.js';
import { encodeRecord, type LogRecord } from '../../src/log/record-codec.js';

export const RECORD_BYTES_MAX = 64 * 1024;

export function header(over: Partial<LogHeader> = {}): LogHeader {
  return { generation: 7, firstLsn: 1, salt: 0x1234abcd, createdAtMs: 1_700_000_000_000, ...over };
}

export function record(lsn: number, data: Uint8Array, over: Partial<LogRecord> = {}): LogRecord {
  return { type: RecordType.PUT, generation: 7, lsn, dbOffset: DB_OFFSET_NONE, syncedBytes: LOG_HEADER_BYTES, data, ...over };
}

/** Distinct, recognisable payload bytes for record `lsn`. */
export function payload(lsn: number, bytes: number): Uint8Array {
  const d = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) d[i] = (lsn * 31 + i * 7) & 0xff;
  return d;
}

/** A log file: the header, then the records as given (sealed with the header's salt). */
export function buildLog(h: LogHeader, recs: readonly LogRecord[]): { bytes: Uint8Array; offsets: number[] } {
  const parts = [encodeLogHeader(h), ...recs.map((r) => encodeRecord(r, h.salt))];
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  const offsets: number[] = [];
  let at = 0;
  for (const p of parts) {
    if (at > 0) offsets.push(at);
    bytes.set(p, at);
    at += p.byteLength;
  }
  return { bytes, offsets };
}

/** A log of `n` records whose syncedBytes say every earlier record was durable (as 'fsync' writes them). */
export function syncedLog(h: LogHeader, n: number, dataBytes = 40): { bytes: Uint8Array; offsets: number[]; recs: LogRecord[] } {
  const recs: LogRecord[] = [];
  let end = LOG_HEADER_BYTES;
  for (let i = 0; i < n; i++) {
    const data = payload(h.firstLsn + i, dataBytes + (i % 5));
    recs.push(record(h.firstLsn + i, data, { generation: h.generation, syncedBytes: end }));
    end += 56 + data.byteLength;
  }
  return { ...buildLog(h, recs), recs };
}

export interface ReadRecord {
  offset: number;
  rec: LogRecord;
}

/** readLog, keeping a copy of every record. */
export async function readAll(
  fs: FileSystem,
  path: string,
  opts: Partial<LogReadOptions> = {},
): Promise<{ result: LogReadResult; records: ReadRecord[] }> {
  const records: ReadRecord[] = [];
  const result = await readLog(fs, path, { salvage: false, recordBytesMax: RECORD_BYTES_MAX, ...opts }, (rec, offset) => {
    records.push({ offset, rec: { ...rec, data: rec.data.slice() } });
  });
  return { result, records };
}

/**
 * Wraps a FileSystem: counts writev and datasync on its handles, and can hold every
 * datasync until released, to see what resolves before the disk said yes.
 */
export class HoldingFileSystem implements FileSystem {
  writevs = 0;
  datasyncs = 0;
  private held: Array<() => void> | undefined;

  constructor(private readonly inner: FileSystem) {}

  hold(): void {
    this.held ??= [];
  }

  /** Lets every held datasync proceed and stops holding. */
  releaseHeld(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const go of held) go();
  }

  get heldCount(): number {
    return this.held?.length ?? 0;
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const fh = await this.inner.open(path, mode);
    return {
      path: fh.path,
      writev: (buffers, position) => {
        this.writevs++;
        return fh.writev(buffers, position);
      },
      read: (b, o, l, p) => fh.read(b, o, l, p),
      datasync: async () => {
        this.datasyncs++;
        const held = this.held;
        if (held) await new Promise<void>((go) => held.push(go));
        return fh.datasync();
      },
      truncate: (s) => fh.truncate(s),
      size: () => fh.size(),
      close: () => fh.close(),
    };
  }

  stat(path: string) {
    return this.inner.stat(path);
  }
  readdir(dir: string) {
    return this.inner.readdir(dir);
  }
  mkdir(dir: string) {
    return this.inner.mkdir(dir);
  }
  rename(from: string, to: string) {
    return this.inner.rename(from, to);
  }
  unlink(path: string) {
    return this.inner.unlink(path);
  }
  syncDir(dir: string) {
    return this.inner.syncDir(dir);
  }
}
