/**
 * Reads one log file (docs/format.md §1.3): streams its valid records in order, tells a
 * torn tail (never acknowledged, the normal end after a crash) from corruption (bytes
 * damaged after a later record vouched that they were durable).
 */

import { LOG_HEADER_BYTES } from '../format/constants.js';
import { SessiondError, ioError } from '../errors.js';
import type { FileHandle, FileSystem } from '../fs/file-system.js';
import { ChunkReader } from './chunk-reader.js';
import { decodeLogHeader, type LogHeader } from './log-header.js';
import { decodeRecord, type LogRecord } from './record-codec.js';
import { findResync } from './log-resync.js';

export interface LogReadOptions {
  /** Keep the valid records around damaged ranges instead of failing with SESSIOND_LOG_CORRUPT. */
  salvage: boolean;
  recordBytesMax: number;
  /** Bytes per read; default 1 MiB. */
  readChunkBytes?: number;
}

export interface LogReadResult {
  path: string;
  /** undefined: the log is unallocated (missing, short, bad magic or crc) and holds no records. */
  header: LogHeader | undefined;
  records: number;
  /** LSN of the last record delivered; 0 if none. */
  lastLsn: number;
  /** Offset just past the last valid record: where the log ends. */
  endOffset: number;
  fileBytes: number;
  /** fileBytes - endOffset: the torn tail (all of an unallocated file). */
  tornBytes: number;
  /** Damaged ranges skipped (salvage only). */
  corruption: Array<{ offset: number; bytes: number }>;
}

export type OnLogRecord = (rec: LogRecord, offset: number) => void;

export const READ_CHUNK_BYTES_DEFAULT = 1024 * 1024;

/** `onRecord` gets each record in order; `rec.data` is valid only during the call. */
export async function readLog(
  fs: FileSystem,
  path: string,
  opts: LogReadOptions,
  onRecord: OnLogRecord,
): Promise<LogReadResult> {
  const fh = await openIfExists(fs, path);
  if (fh === undefined) return unallocated(path, 0);
  try {
    const fileBytes = await io('size', path, () => fh.size());
    const head = new Uint8Array(LOG_HEADER_BYTES);
    const n = await io('read', path, () => fh.read(head, 0, LOG_HEADER_BYTES, 0));
    const header = decodeLogHeader(head.subarray(0, n), path);
    if (header === undefined) return unallocated(path, fileBytes);
    const src = new ChunkReader(fh, fileBytes, opts.readChunkBytes ?? READ_CHUNK_BYTES_DEFAULT, LOG_HEADER_BYTES);
    return await walkRecords(src, path, header, opts, onRecord);
  } finally {
    // A failed close of a read-only handle loses nothing; it must not hide the result.
    await fh.close().catch(() => undefined);
  }
}

async function walkRecords(
  src: ChunkReader,
  path: string,
  header: LogHeader,
  opts: LogReadOptions,
  onRecord: OnLogRecord,
): Promise<LogReadResult> {
  const { salt, generation } = header;
  const corruption: LogReadResult['corruption'] = [];
  let records = 0;
  let prevLsn = header.firstLsn - 1;
  let pos = LOG_HEADER_BYTES;
  while (pos < src.fileBytes) {
    const r = decodeRecord(src.view, pos - src.base, salt, generation, opts.recordBytesMax);
    if (r.ok && r.record.lsn > prevLsn) {
      onRecord(r.record, pos);
      records++;
      prevLsn = r.record.lsn;
      pos += r.bytes;
      continue;
    }
    if (!r.ok && r.reason === 'short' && !src.atEof) {
      await src.more(pos);
      continue;
    }
    await src.loadRest(pos);
    const found = findResync(src.view, src.base, pos, header, prevLsn, opts.recordBytesMax);
    if (!found.vouched) break; // torn tail: the log ends at `pos`
    const damage = { offset: pos, bytes: found.next - pos };
    if (!opts.salvage) throw corrupt(path, damage, r.ok ? 'lsn not increasing' : r.reason);
    corruption.push(damage);
    pos = found.next;
  }
  const endOffset = Math.min(pos, src.fileBytes);
  const lastLsn = records > 0 ? prevLsn : 0;
  const fileBytes = src.fileBytes;
  return { path, header, records, lastLsn, endOffset, fileBytes, tornBytes: fileBytes - endOffset, corruption };
}

function corrupt(path: string, damage: { offset: number; bytes: number }, reason: string): SessiondError {
  return new SessiondError(
    'SESSIOND_LOG_CORRUPT',
    `${path}: ${damage.bytes} bytes at offset ${damage.offset} (${reason}) were damaged after a later record vouched they were durable`,
    { file: path, offset: damage.offset, bytes: damage.bytes, reason },
  );
}

function unallocated(path: string, fileBytes: number): LogReadResult {
  return {
    path,
    header: undefined,
    records: 0,
    lastLsn: 0,
    endOffset: 0,
    fileBytes,
    tornBytes: fileBytes,
    corruption: [],
  };
}

async function openIfExists(fs: FileSystem, path: string): Promise<FileHandle | undefined> {
  try {
    return await fs.open(path, 'r');
  } catch (e) {
    if ((e as { code?: unknown } | null)?.code === 'ENOENT') return undefined;
    throw ioError('open', path, e);
  }
}

async function io<T>(op: string, path: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw ioError(op, path, e);
  }
}
