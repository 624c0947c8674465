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
import { repairBytesWanted, repairLogHeader } from './log-header-repair.js';

export interface LogReadOptions {
  /** Keep the valid records around damaged ranges instead of failing with SESSIOND_LOG_CORRUPT. */
  salvage: boolean;
  recordBytesMax: number;
  /** Bytes per read; default 1 MiB. */
  readChunkBytes?: number;
  /**
   * The database holds every record up to here (its appliedLsn; default 0). Damage whose
   * lost records all lie at or below it loses nothing: a warning in `folded`, never an error.
   */
  appliedLsn?: number;
}

/** A damaged range of a log, with the LSNs of the records it lost when they are known. */
export interface LogDamage {
  offset: number;
  bytes: number;
  /** First and last LSN lost (0 when unknown). */
  fromLsn?: number;
  toLsn?: number;
}

export interface LogReadResult {
  path: string;
  /**
   * undefined: the log holds no records: missing, or at most one sector long with a bad
   * header (unallocated), or (salvage only) a damaged header no record could vouch for.
   */
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
  corruption: LogDamage[];
  /** Damaged ranges whose records the database already holds: skipped, reported as warnings. */
  folded: LogDamage[];
  /** The header failed its crc but the records vouched for its salt and generation (log-header-repair.ts). */
  headerRepaired: boolean;
  /** LSN of the first record delivered; 0 if none. */
  firstLsn: number;
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
    const h = await readHead(fh, path, opts);
    if ('result' in h) return h.result;
    const r = await walkRecords(h.src, path, h.header, opts, onRecord);
    return { ...r, headerRepaired: h.repaired };
  } finally {
    // A failed close of a read-only handle loses nothing; it must not hide the result.
    await fh.close().catch(() => undefined);
  }
}

/**
 * The header readLog would use (repaired when the records vouch for it), without reading
 * the records: recovery orders the logs by generation first. undefined when the log holds
 * no records; throws SESSIOND_LOG_CORRUPT where readLog would.
 */
export async function readLogHeader(fs: FileSystem, path: string, opts: LogReadOptions): Promise<LogHeader | undefined> {
  const fh = await openIfExists(fs, path);
  if (fh === undefined) return undefined;
  try {
    const h = await readHead(fh, path, opts);
    return 'result' in h ? h.result.header : h.header;
  } finally {
    await fh.close().catch(() => undefined);
  }
}

async function readHead(
  fh: FileHandle,
  path: string,
  opts: LogReadOptions,
): Promise<{ header: LogHeader; repaired: boolean; src: ChunkReader } | { result: LogReadResult }> {
  const fileBytes = await io('size', path, () => fh.size());
  const head = new Uint8Array(LOG_HEADER_BYTES);
  const n = await io('read', path, () => fh.read(head, 0, LOG_HEADER_BYTES, 0));
  const header = decodeLogHeader(head.subarray(0, n), path);
  const src = new ChunkReader(fh, fileBytes, opts.readChunkBytes ?? READ_CHUNK_BYTES_DEFAULT, LOG_HEADER_BYTES);
  if (header !== undefined) return { header, repaired: false, src };
  // A reset makes the truncate durable before it writes the header (log-file.ts), so a
  // crash leaves at most one sector: a bad header with bytes after it is damage.
  if (fileBytes <= LOG_HEADER_BYTES) return { result: unallocated(path, fileBytes) };
  const repaired = await repairHeader(src, head.subarray(0, n), opts.recordBytesMax);
  if (repaired !== undefined) return { header: repaired, repaired: true, src };
  if (!opts.salvage) {
    throw new SessiondError(
      'SESSIOND_LOG_CORRUPT',
      `${path}: the header at offset 0 is damaged and ${fileBytes - LOG_HEADER_BYTES} bytes of records follow it; no record vouches for its salt`,
      { file: path, offset: 0, bytes: fileBytes, reason: 'header' },
    );
  }
  return { result: { ...unallocated(path, fileBytes), tornBytes: 0, corruption: [{ offset: 0, bytes: fileBytes }] } };
}

async function walkRecords(
  src: ChunkReader,
  path: string,
  header: LogHeader,
  opts: LogReadOptions,
  onRecord: OnLogRecord,
): Promise<LogReadResult> {
  const { salt, generation } = header;
  const corruption: LogDamage[] = [];
  const folded: LogDamage[] = [];
  let firstLsn = 0;
  let records = 0;
  let prevLsn = header.firstLsn - 1;
  let pos = LOG_HEADER_BYTES;
  while (pos < src.fileBytes) {
    const r = decodeRecord(src.view, pos - src.base, salt, generation, opts.recordBytesMax);
    if (r.ok && r.record.lsn > prevLsn) {
      onRecord(r.record, pos);
      if (records === 0) firstLsn = r.record.lsn;
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
    const damage = { offset: pos, bytes: found.next - pos, fromLsn: prevLsn + 1, toLsn: found.nextLsn - 1 };
    if (damage.toLsn <= (opts.appliedLsn ?? 0)) {
      // Every record it held is in the database already: nothing is lost.
      folded.push(damage);
      pos = found.next;
      continue;
    }
    if (!opts.salvage) throw corrupt(path, damage, r.ok ? 'lsn not increasing' : r.reason);
    corruption.push(damage);
    pos = found.next;
  }
  const endOffset = Math.min(pos, src.fileBytes);
  const lastLsn = records > 0 ? prevLsn : 0;
  const fileBytes = src.fileBytes;
  return { path, header, records, lastLsn, endOffset, fileBytes, tornBytes: fileBytes - endOffset, corruption, folded, headerRepaired: false, firstLsn };
}

/** Loads the leading records and lets them vouch for the damaged header. */
async function repairHeader(src: ChunkReader, head: Uint8Array, recordBytesMax: number): Promise<LogHeader | undefined> {
  for (;;) {
    const want = repairBytesWanted(src.view, recordBytesMax);
    if (src.view.byteLength >= want || src.atEof) break;
    await src.more(LOG_HEADER_BYTES);
  }
  return repairLogHeader(head, src.view, recordBytesMax);
}

function corrupt(path: string, damage: LogDamage, reason: string): SessiondError {
  return new SessiondError(
    'SESSIOND_LOG_CORRUPT',
    `${path}: ${damage.bytes} bytes at offset ${damage.offset} (${reason}, records ${damage.fromLsn}..${damage.toLsn}) were damaged after a later record vouched they were durable`,
    { file: path, offset: damage.offset, bytes: damage.bytes, reason, fromLsn: damage.fromLsn, toLsn: damage.toLsn },
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
    folded: [],
    headerRepaired: false,
    firstLsn: 0,
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
