/**
 * The log file header (docs/format.md §1.1): one 512-byte sector at offset 0 that names the
 * generation, its first LSN and the salt seeding every record checksum of the generation.
 */

import { crc32 } from 'node:zlib';
import { assert } from '../assert.js';
import { SessiondError } from '../errors.js';
import { LOG_FORMAT_VERSION, LOG_FORMAT_VERSIONS_READ, LOG_HEADER, LOG_HEADER_BYTES, LOG_MAGIC } from '../format/constants.js';
import { readU32, readU64, writeU32, writeU64 } from '../format/bytes.js';

export interface LogHeader {
  generation: number;
  firstLsn: number;
  salt: number;
  createdAtMs: number;
  /** 2 or 3 as read (docs/format.md §1.1); absent: written by this version (3). */
  formatVersion?: number;
}

const MAGIC_BYTES = new TextEncoder().encode(LOG_MAGIC);
/** Reserved ranges that must be zero: 36..40 and 48..508. */
const RESERVED_RANGES: ReadonlyArray<readonly [number, number]> = [
  [LOG_HEADER.salt + 4, LOG_HEADER.createdAtMs],
  [LOG_HEADER.createdAtMs + 8, LOG_HEADER.crc],
];

export function encodeLogHeader(h: LogHeader): Uint8Array {
  assertHeader(h);
  const buf = new Uint8Array(LOG_HEADER_BYTES);
  buf.set(MAGIC_BYTES, LOG_HEADER.magic);
  writeU32(buf, LOG_HEADER.formatVersion, LOG_FORMAT_VERSION);
  writeU32(buf, LOG_HEADER.headerBytes, LOG_HEADER_BYTES);
  writeU64(buf, LOG_HEADER.generation, h.generation);
  writeU64(buf, LOG_HEADER.firstLsn, h.firstLsn);
  writeU32(buf, LOG_HEADER.salt, h.salt);
  writeU64(buf, LOG_HEADER.createdAtMs, h.createdAtMs);
  writeU32(buf, LOG_HEADER.crc, crc32(buf.subarray(0, LOG_HEADER.crc), 0));
  return buf;
}

/**
 * undefined when the header is unreadable (short, bad magic, bad crc): the log is
 * unallocated. A header whose crc matches but that this version cannot have written
 * (another formatVersion or headerBytes, a reserved byte set, a u64 past 2^53-1) throws
 * SESSIOND_FORMAT_UNSUPPORTED: its log may hold records we must not silently drop.
 */
export function decodeLogHeader(buf: Uint8Array, file?: string): LogHeader | undefined {
  if (buf.byteLength < LOG_HEADER_BYTES) return undefined;
  for (let i = 0; i < MAGIC_BYTES.length; i++) if (buf[LOG_HEADER.magic + i] !== MAGIC_BYTES[i]) return undefined;
  if (readU32(buf, LOG_HEADER.crc) !== crc32(buf.subarray(0, LOG_HEADER.crc), 0)) return undefined;
  const version = readU32(buf, LOG_HEADER.formatVersion);
  if (!LOG_FORMAT_VERSIONS_READ.includes(version)) unsupported(file, `log format version ${version}`, version);
  if (readU32(buf, LOG_HEADER.headerBytes) !== LOG_HEADER_BYTES) unsupported(file, 'log header size', version);
  for (const [from, to] of RESERVED_RANGES) {
    for (let i = from; i < to; i++) if (buf[i] !== 0) unsupported(file, `reserved header byte ${i} set`, version);
  }
  const h: LogHeader = {
    generation: readU64(buf, LOG_HEADER.generation),
    firstLsn: readU64(buf, LOG_HEADER.firstLsn),
    salt: readU32(buf, LOG_HEADER.salt),
    createdAtMs: readU64(buf, LOG_HEADER.createdAtMs),
    ...(version === LOG_FORMAT_VERSION ? {} : { formatVersion: version }),
  };
  // readU64 gives -1 for a value above 2^53 - 1.
  if (h.generation < 0 || h.firstLsn < 0 || h.createdAtMs < 0) {
    unsupported(file, 'header field past 2^53-1', version);
  }
  return h;
}

function unsupported(file: string | undefined, what: string, formatVersion: number): never {
  throw new SessiondError('SESSIOND_FORMAT_UNSUPPORTED', `${file ?? 'log'}: ${what}`, { file, formatVersion });
}

function assertHeader(h: LogHeader): void {
  assert(Number.isSafeInteger(h.generation) && h.generation >= 0, `log generation ${h.generation}`);
  assert(Number.isSafeInteger(h.firstLsn) && h.firstLsn >= 0, `log firstLsn ${h.firstLsn}`);
  assert(Number.isInteger(h.salt) && h.salt >= 0 && h.salt <= 0xffffffff, `log salt ${h.salt}`);
  assert(Number.isSafeInteger(h.createdAtMs) && h.createdAtMs >= 0, `log createdAtMs ${h.createdAtMs}`);
}
