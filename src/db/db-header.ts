/**
 * The database header (docs/format.md §2.1): two slots in blocks 0 and 1; the valid slot
 * with the larger headerSeq wins, and the next header always goes to the other slot, so a
 * torn header write can only damage the slot that was not current.
 */

import { crc32 } from 'node:zlib';
import { assert } from '../assert.js';
import {
  DB_BLOCK_BYTES,
  DB_FIRST_DATA_OFFSET,
  DB_FORMAT_VERSION,
  DB_FORMAT_VERSIONS_READ,
  DB_HEADER,
  DB_MAGIC,
  U64_MAX_SAFE,
} from '../format/constants.js';
import { SessiondError } from '../errors.js';
import { readU32, readU64, writeU32, writeU64 } from '../format/bytes.js';

export interface DbHeader {
  headerSeq: number;
  salt: number;
  freeOffset: number;
  appliedLsn: number;
  createdAtMs: number;
  /** Sessions with a live image when the header was written (0 in files from before the field: no check). */
  liveImages: number;
  /** Sessions the batch in progress frees (an interim header); 0 in a batch's last header. */
  freeingImages: number;
}

export type HeaderSlot =
  | { kind: 'valid'; header: DbHeader }
  | { kind: 'invalid'; reason: string }
  /** A good magic and crc but a version or block size this reader does not know. */
  | { kind: 'unsupported'; reason: string };

const MAGIC_BYTES = new TextEncoder().encode(DB_MAGIC);

export function encodeDbHeader(h: DbHeader): Uint8Array {
  for (const [name, v] of Object.entries(h)) {
    assert(Number.isSafeInteger(v) && v >= 0, `header ${name} must be a safe non-negative integer, got ${v}`);
  }
  assert(h.salt <= 0xffff_ffff, `header salt must be a u32, got ${h.salt}`);
  assert(isBlockAligned(h.freeOffset), `header freeOffset ${h.freeOffset} is not a data block boundary`);
  const b = new Uint8Array(DB_BLOCK_BYTES);
  b.set(MAGIC_BYTES, DB_HEADER.magic);
  writeU32(b, DB_HEADER.formatVersion, DB_FORMAT_VERSION);
  writeU32(b, DB_HEADER.blockBytes, DB_BLOCK_BYTES);
  writeU64(b, DB_HEADER.headerSeq, h.headerSeq);
  writeU32(b, DB_HEADER.salt, h.salt);
  writeU64(b, DB_HEADER.freeOffset, h.freeOffset);
  writeU64(b, DB_HEADER.appliedLsn, h.appliedLsn);
  writeU64(b, DB_HEADER.createdAtMs, h.createdAtMs);
  writeU64(b, DB_HEADER.liveImages, h.liveImages);
  writeU64(b, DB_HEADER.freeingImages, h.freeingImages);
  writeU32(b, DB_HEADER.crc, crc32(b.subarray(0, DB_HEADER.crc), 0));
  return b;
}

/** Decodes one slot; `b` may be short (a truncated file). */
export function decodeDbHeader(b: Uint8Array): HeaderSlot {
  if (b.byteLength < DB_BLOCK_BYTES) return { kind: 'invalid', reason: `short slot (${b.byteLength} bytes)` };
  for (let i = 0; i < MAGIC_BYTES.length; i++) {
    if (b[DB_HEADER.magic + i] !== MAGIC_BYTES[i]) return { kind: 'invalid', reason: 'bad magic' };
  }
  if (crc32(b.subarray(0, DB_HEADER.crc), 0) !== readU32(b, DB_HEADER.crc)) {
    return { kind: 'invalid', reason: 'bad crc' };
  }
  const version = readU32(b, DB_HEADER.formatVersion);
  if (!DB_FORMAT_VERSIONS_READ.includes(version)) return { kind: 'unsupported', reason: `format version ${version}` };
  const blockBytes = readU32(b, DB_HEADER.blockBytes);
  if (blockBytes !== DB_BLOCK_BYTES) return { kind: 'unsupported', reason: `block size ${blockBytes}` };
  const header: DbHeader = {
    headerSeq: readU64(b, DB_HEADER.headerSeq),
    salt: readU32(b, DB_HEADER.salt),
    freeOffset: readU64(b, DB_HEADER.freeOffset),
    appliedLsn: readU64(b, DB_HEADER.appliedLsn),
    createdAtMs: readU64(b, DB_HEADER.createdAtMs),
    liveImages: readU64(b, DB_HEADER.liveImages),
    freeingImages: readU64(b, DB_HEADER.freeingImages),
  };
  for (const [name, v] of Object.entries(header)) {
    if (v < 0 || v > U64_MAX_SAFE) return { kind: 'invalid', reason: `${name} above 2^53-1` };
  }
  if (!isBlockAligned(header.freeOffset)) return { kind: 'invalid', reason: `bad freeOffset ${header.freeOffset}` };
  return { kind: 'valid', header };
}

/**
 * The current header: the valid slot with the larger headerSeq, or undefined when neither
 * is valid. A slot from a newer format is never silently skipped: the file is refused.
 */
export function chooseHeader(slots: readonly HeaderSlot[], file: string): { header: DbHeader; slot: number } | undefined {
  let best: { header: DbHeader; slot: number } | undefined;
  slots.forEach((s, slot) => {
    if (s.kind === 'unsupported') {
      throw new SessiondError('SESSIOND_FORMAT_UNSUPPORTED', `${file} header slot ${slot}: ${s.reason}`, { file, slot });
    }
    if (s.kind === 'valid' && (!best || s.header.headerSeq > best.header.headerSeq)) best = { header: s.header, slot };
  });
  return best;
}

function isBlockAligned(offset: number): boolean {
  return offset >= DB_FIRST_DATA_OFFSET && offset % DB_BLOCK_BYTES === 0;
}
