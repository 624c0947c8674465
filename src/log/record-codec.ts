/**
 * The log record (docs/format.md §1.2): encode and decode, with every check the format
 * lists. Encoding into a caller's buffer does not allocate (it is on every write's path);
 * the writer encodes in two steps because a record's generation, syncedBytes and crc are
 * known only when its group is written (writeRecordBody at append, sealRecord at write).
 */

import { Buffer } from 'node:buffer';
import { crc32 } from 'node:zlib';
import { assert } from '../assert.js';
import {
  RECORD,
  RECORD_END_MAGIC,
  RECORD_HEAD_BYTES,
  RECORD_OVERHEAD_BYTES,
  RECORD_START_MAGIC,
  RecordType,
} from '../format/constants.js';
import { readU32, readU64, writeU32, writeU64 } from '../format/bytes.js';

export interface LogRecord {
  type: RecordType;
  generation: number;
  lsn: number;
  dbOffset: number;
  syncedBytes: number;
  data: Uint8Array;
}

export type DecodeFailure = 'short' | 'magic' | 'length' | 'crc' | 'end-magic' | 'generation' | 'type' | 'reserved';

export type DecodeResult =
  | { ok: true; record: LogRecord; bytes: number }
  | { ok: false; reason: DecodeFailure };

/** Largest record the 32-bit length field can describe. */
const RECORD_BYTES_LIMIT = 0xffffffff;
const TYPE_MAX = RecordType.TOMBSTONE;

// One shared object per failure: the resync scan after damage calls decode at many offsets.
const FAIL: { readonly [R in DecodeFailure]: DecodeResult } = Object.freeze({
  short: Object.freeze({ ok: false, reason: 'short' }),
  magic: Object.freeze({ ok: false, reason: 'magic' }),
  length: Object.freeze({ ok: false, reason: 'length' }),
  crc: Object.freeze({ ok: false, reason: 'crc' }),
  'end-magic': Object.freeze({ ok: false, reason: 'end-magic' }),
  generation: Object.freeze({ ok: false, reason: 'generation' }),
  type: Object.freeze({ ok: false, reason: 'type' }),
  reserved: Object.freeze({ ok: false, reason: 'reserved' }),
});

/**
 * A record's data: its bytes, or an encoder that writes exactly `byteLength` bytes at a
 * given offset (the save path encodes its payload straight into the group buffer, with no
 * buffer of its own; docs/benchmarks.md "Issue 8: durable writes").
 */
export type RecordData = Uint8Array | RecordEncoder;

export interface RecordEncoder {
  readonly byteLength: number;
  /** Writes the data at `at` of `target`; returns the end offset, which must be `at + byteLength`. */
  writeInto(target: Uint8Array, at: number): number;
}

/** The data as bytes of its own (a test, or a caller that keeps them). */
export function recordDataBytes(data: RecordData): Uint8Array {
  if (data instanceof Uint8Array) return data;
  const out = Buffer.alloc(data.byteLength);
  const end = data.writeInto(out, 0);
  assert(end === out.byteLength, `record data of ${out.byteLength} bytes filled to ${end}`);
  return out;
}

export function recordBytes(dataBytes: number): number {
  return RECORD_OVERHEAD_BYTES + dataBytes;
}

/**
 * Writes a record's magics, lengths, type, lsn, dbOffset and data at `offset`; leaves
 * generation, syncedBytes and the crc for sealRecord. Returns the record's bytes.
 */
export function writeRecordBody(
  target: Uint8Array,
  offset: number,
  type: RecordType,
  lsn: number,
  dbOffset: number,
  data: RecordData,
): number {
  const bytes = RECORD_OVERHEAD_BYTES + data.byteLength;
  // One test, and a message built only on failure: this runs for every append.
  const valid =
    bytes <= RECORD_BYTES_LIMIT &&
    offset >= 0 &&
    offset + bytes <= target.byteLength &&
    Number.isInteger(type) &&
    type >= RecordType.PUT &&
    type <= TYPE_MAX &&
    Number.isSafeInteger(lsn) &&
    lsn >= 0 &&
    Number.isSafeInteger(dbOffset) &&
    dbOffset >= 0;
  if (!valid) {
    assert(false, `bad record to write: type ${type} lsn ${lsn} dbOffset ${dbOffset} ${bytes} bytes at ${offset} of ${target.byteLength}`);
  }
  writeU32(target, offset + RECORD.startMagic, RECORD_START_MAGIC);
  writeU32(target, offset + RECORD.recordBytes, bytes);
  writeU32(target, offset + RECORD.dataBytes, data.byteLength);
  writeU32(target, offset + RECORD.type, type); // type byte + three reserved zero bytes
  writeU64(target, offset + RECORD.lsn, lsn);
  writeU64(target, offset + RECORD.dbOffset, dbOffset);
  if (data instanceof Uint8Array) target.set(data, offset + RECORD.data);
  else {
    const end = data.writeInto(target, offset + RECORD.data);
    if (end !== offset + bytes - 8) assert(false, `record data of ${data.byteLength} bytes filled to ${end - offset - RECORD.data}`);
  }
  writeU32(target, offset + bytes - 4, RECORD_END_MAGIC);
  return bytes;
}

/** Completes the record written by writeRecordBody at `offset`. Returns its bytes. */
export function sealRecord(
  target: Uint8Array,
  offset: number,
  generation: number,
  syncedBytes: number,
  salt: number,
): number {
  const valid =
    readU32(target, offset + RECORD.startMagic) === RECORD_START_MAGIC &&
    Number.isSafeInteger(generation) &&
    generation >= 0 &&
    Number.isSafeInteger(syncedBytes) &&
    syncedBytes >= 0;
  if (!valid) assert(false, `bad record to seal at ${offset}: generation ${generation} syncedBytes ${syncedBytes}`);
  const bytes = readU32(target, offset + RECORD.recordBytes);
  writeU64(target, offset + RECORD.generation, generation);
  writeU64(target, offset + RECORD.syncedBytes, syncedBytes);
  const crcAt = offset + bytes - 8;
  writeU32(target, crcAt, crc32(target.subarray(offset, crcAt), salt));
  return bytes;
}

export function encodeRecordInto(target: Uint8Array, offset: number, rec: LogRecord, salt: number): number {
  writeRecordBody(target, offset, rec.type, rec.lsn, rec.dbOffset, rec.data);
  return sealRecord(target, offset, rec.generation, rec.syncedBytes, salt);
}

export function encodeRecord(rec: LogRecord, salt: number): Uint8Array {
  const buf = new Uint8Array(recordBytes(rec.data.byteLength));
  encodeRecordInto(buf, 0, rec, salt);
  return buf;
}

/**
 * Decodes the record at `offset`. 'short' means `buf` ends before the bytes that decide;
 * every other failure is final. The head is checked field by field as soon as its bytes
 * are there, so garbage is refused after a few bytes. `record.data` is a view into `buf`.
 */
export function decodeRecord(
  buf: Uint8Array,
  offset: number,
  salt: number,
  generation: number,
  recordBytesMax: number,
): DecodeResult {
  const avail = buf.byteLength - offset;
  if (avail < 4) return FAIL.short;
  if (readU32(buf, offset + RECORD.startMagic) !== RECORD_START_MAGIC) return FAIL.magic;
  if (avail < RECORD.dataBytes) return FAIL.short;
  const bytes = readU32(buf, offset + RECORD.recordBytes);
  if (bytes < RECORD_OVERHEAD_BYTES || bytes > recordBytesMax) return FAIL.length;
  if (avail < RECORD.type) return FAIL.short;
  if (readU32(buf, offset + RECORD.dataBytes) + RECORD_OVERHEAD_BYTES !== bytes) return FAIL.length;
  if (avail <= RECORD.type) return FAIL.short;
  const type = buf[offset + RECORD.type]!;
  if (type < RecordType.PUT || type > TYPE_MAX) return FAIL.type;
  if (avail < RECORD.generation) return FAIL.short;
  if ((buf[offset + 13]! | buf[offset + 14]! | buf[offset + 15]!) !== 0) return FAIL.reserved;
  if (avail < RECORD.lsn) return FAIL.short;
  if (readU64(buf, offset + RECORD.generation) !== generation) return FAIL.generation;
  if (avail < bytes) return FAIL.short;
  const end = offset + bytes;
  if (readU32(buf, end - 4) !== RECORD_END_MAGIC) return FAIL['end-magic'];
  if (readU32(buf, end - 8) !== crc32(buf.subarray(offset, end - 8), salt)) return FAIL.crc;
  const lsn = readU64(buf, offset + RECORD.lsn);
  const dbOffset = readU64(buf, offset + RECORD.dbOffset);
  const syncedBytes = readU64(buf, offset + RECORD.syncedBytes);
  // Bits past 2^53 are never written; a crc-valid record with them set is not ours.
  // readU64 gives -1 for a value above 2^53 - 1.
  if (lsn < 0 || dbOffset < 0 || syncedBytes < 0) return FAIL.reserved;
  const record: LogRecord = {
    type: type as RecordType,
    generation,
    lsn,
    dbOffset,
    syncedBytes,
    data: buf.subarray(offset + RECORD_HEAD_BYTES, end - 8),
  };
  return { ok: true, record, bytes };
}
