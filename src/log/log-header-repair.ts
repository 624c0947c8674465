/**
 * A log header whose crc fails while records follow it (docs/format.md §1.1): the records
 * can vouch for what the header lost. Their salted crcs give the salt back (CRC-32 is
 * affine in its seed), and each record carries the generation. A salt solved from one
 * record always fits that record, so a second witness must agree: the header's own salt
 * field, or the next record.
 */

import { LOG_HEADER, RECORD, RECORD_OVERHEAD_BYTES, RECORD_START_MAGIC } from '../format/constants.js';
import { readU32, readU64 } from '../format/bytes.js';
import { solveSeed } from '../util/crc-seed.js';
import type { LogHeader } from './log-header.js';
import { decodeRecord } from './record-codec.js';

/**
 * `head`: the damaged header bytes; `body`: the file from the end of the header on (at
 * least the first two records, when there are two). undefined when the records cannot
 * vouch for a salt and a generation.
 */
export function repairLogHeader(head: Uint8Array, body: Uint8Array, recordBytesMax: number): LogHeader | undefined {
  const first = firstRecordBytes(body, 0, recordBytesMax);
  if (first === undefined) return undefined;
  const generation = readU64(body, RECORD.generation);
  if (generation < 0) return undefined;
  const salt = solveSeed(body.subarray(0, first - 8), readU32(body, first - 8));
  if (salt === undefined) return undefined;
  const r1 = decodeRecord(body, 0, salt, generation, recordBytesMax);
  if (!r1.ok) return undefined;
  const headerSalt = head.byteLength >= LOG_HEADER.salt + 4 ? readU32(head, LOG_HEADER.salt) : undefined;
  const r2 = decodeRecord(body, first, salt, generation, recordBytesMax);
  const confirmed = salt === headerSalt || (r2.ok && r2.record.lsn > r1.record.lsn);
  if (!confirmed) return undefined;
  // The header's firstLsn is not trusted: the first record's LSN is a bound the records prove.
  return { generation, firstLsn: r1.record.lsn, salt, createdAtMs: 0 };
}

/** Bytes the two leading records need (what the caller must have loaded), from their length fields. */
export function repairBytesWanted(body: Uint8Array, recordBytesMax: number): number {
  const first = firstRecordBytes(body, 0, recordBytesMax, true);
  if (first === undefined) return RECORD.data;
  const second = firstRecordBytes(body, first, recordBytesMax, true);
  return first + (second ?? RECORD.data);
}

function firstRecordBytes(body: Uint8Array, at: number, recordBytesMax: number, partial = false): number | undefined {
  if (body.byteLength < at + RECORD.dataBytes) return undefined;
  if (readU32(body, at + RECORD.startMagic) !== RECORD_START_MAGIC) return undefined;
  const bytes = readU32(body, at + RECORD.recordBytes);
  if (bytes < RECORD_OVERHEAD_BYTES || bytes > recordBytesMax) return undefined;
  if (!partial && at + bytes > body.byteLength) return undefined;
  return bytes;
}
