/**
 * Session images and freed markers (docs/format.md §2.2): encoding for the writer, head
 * and crc checks for the scanner. An image is position independent (no offset inside),
 * so compaction can copy its bytes verbatim.
 */

import { crc32 } from 'node:zlib';
import { assert } from '../assert.js';
import {
  DB_BLOCK_BYTES,
  IMAGE,
  IMAGE_FREED_MAGIC,
  IMAGE_HEAD_BYTES,
  IMAGE_LIVE_MAGIC,
  IMAGE_OVERHEAD_BYTES,
  PAYLOAD_LAYOUT_V2,
  PAYLOAD_LAYOUT_V3,
  SESSION_ID_BYTES_MAX,
  U64_MAX_SAFE,
  type PayloadLayout,
} from '../format/constants.js';
import { idAt } from '../session/session-payload.js';
import { readU32, readU64, writeU32, writeU64 } from '../format/bytes.js';

/** `dataBytes` is a u32; keep the whole image inside one u32 too. */
export const IMAGE_DATA_BYTES_MAX = 0xffff_ffff - IMAGE_OVERHEAD_BYTES;

export interface ImageHead {
  extentBlocks: number;
  dataBytes: number;
  lsn: number;
  /** How the payload is laid out (docs/format.md §2.2): v3, or v2 in images older writers made. */
  layout: PayloadLayout;
}

/** Whole bytes of an image: head, data, crc. */
export function imageBytes(dataBytes: number): number {
  return IMAGE_OVERHEAD_BYTES + dataBytes;
}

export function extentBlocksFor(dataBytes: number): number {
  return Math.ceil(imageBytes(dataBytes) / DB_BLOCK_BYTES);
}

/**
 * A live image as iovecs filling its whole extent (encodeImageInto in a buffer of its own):
 * head, data, crc, zero padding. Padding the extent means every block of a live extent is
 * rewritten, so no stale bytes of an older image survive inside it.
 */
export function encodeImage(salt: number, lsn: number, data: Uint8Array): { buffers: Uint8Array[]; blocks: number } {
  checkImageArgs(lsn, data);
  const out = new Uint8Array(extentBlocksFor(data.byteLength) * DB_BLOCK_BYTES);
  return { buffers: [out], blocks: encodeImageInto(out, 0, salt, lsn, data) };
}

/** Once per image of a flush: a message is built only when a check fails. */
function checkImageArgs(lsn: number, data: Uint8Array): void {
  if (!(Number.isSafeInteger(lsn) && lsn >= 0)) assert(false, `image lsn must be a safe integer, got ${lsn}`);
  if (!(data.byteLength <= IMAGE_DATA_BYTES_MAX)) assert(false, `image data too large: ${data.byteLength}`);
}

/**
 * Encodes a live image at `at` in `out`: head, a copy of `data`, crc; returns its extent in
 * blocks. The rest of the extent (`at` + blocks * DB_BLOCK_BYTES) must already be zeros:
 * the caller zeroes the buffer once for many images (the flusher's writes, db-state.ts). No
 * allocation: the flush encodes every image it writes this way.
 */
export function encodeImageInto(out: Uint8Array, at: number, salt: number, lsn: number, data: Uint8Array): number {
  checkImageArgs(lsn, data);
  const blocks = extentBlocksFor(data.byteLength);
  writeU32(out, at + IMAGE.magic, IMAGE_LIVE_MAGIC);
  writeU32(out, at + IMAGE.extentBlocks, blocks);
  writeU32(out, at + IMAGE.dataBytes, data.byteLength);
  out[at + IMAGE.payloadLayout] = PAYLOAD_LAYOUT_V3; // writers only write v3 payloads
  writeU64(out, at + IMAGE.lsn, lsn);
  out.set(data, at + IMAGE_HEAD_BYTES);
  // The head's crc in JavaScript (a view of 24 bytes for zlib would be an allocation), the
  // data's in zlib; not of no data: zlib's crc32 of an empty buffer without memory is 0, not its seed.
  const headCrc = crc32Of(out, at, at + IMAGE_HEAD_BYTES, salt);
  writeU32(out, at + IMAGE_HEAD_BYTES + data.byteLength, data.byteLength > 0 ? crc32(data, headCrc) : headCrc);
  return blocks;
}

/** CRC-32 (zlib's: reflected 0xedb88320) of b[from, to) seeded with `seed`, as zlib.crc32(b.subarray(from, to), seed). */
export function crc32Of(b: Uint8Array, from: number, to: number, seed: number): number {
  let c = ~seed;
  for (let i = from; i < to; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/**
 * A freed marker's 28 leading bytes (freed magic, extentBlocks, crc) at `at` in `out`; the
 * rest of its block, and whatever else of the extent is written, must already be zeros.
 */
export function encodeFreedMarkerInto(out: Uint8Array, at: number, salt: number, extentBlocks: number): void {
  writeU32(out, at + IMAGE.magic, IMAGE_FREED_MAGIC);
  writeU32(out, at + IMAGE.extentBlocks, extentBlocks);
  writeU32(out, at + IMAGE_HEAD_BYTES, crc32Of(out, at, at + IMAGE_HEAD_BYTES, salt));
}

/** One block: freed magic, extentBlocks, crc of the first 24 bytes, zeros. */
export function encodeFreedMarker(salt: number, extentBlocks: number): Uint8Array {
  const b = new Uint8Array(DB_BLOCK_BYTES);
  writeU32(b, IMAGE.magic, IMAGE_FREED_MAGIC);
  writeU32(b, IMAGE.extentBlocks, extentBlocks);
  writeU32(b, IMAGE_HEAD_BYTES, crc32(b.subarray(0, IMAGE_HEAD_BYTES), salt));
  return b;
}

/**
 * The head at `at` when it could start a live image: live magic, an extent big enough
 * for the data, a safe lsn. Says nothing about the crc; undefined when implausible.
 * `at + IMAGE_HEAD_BYTES` must be inside `b`.
 */
export function readImageHead(b: Uint8Array, at: number): ImageHead | undefined {
  const dataBytes = plausibleImageDataBytes(b, at);
  if (dataBytes < 0) return undefined;
  const layout = b[at + IMAGE.payloadLayout] as PayloadLayout;
  return { extentBlocks: readU32(b, at + IMAGE.extentBlocks), dataBytes, lsn: readU64(b, at + IMAGE.lsn), layout };
}

/**
 * readImageHead's check without its object (the read-back's, once per image of a flush):
 * the head's dataBytes when the head at `at` could start a live image, else -1.
 */
export function plausibleImageDataBytes(b: Uint8Array, at: number): number {
  if (readU32(b, at + IMAGE.magic) !== IMAGE_LIVE_MAGIC) return -1;
  const extentBlocks = readU32(b, at + IMAGE.extentBlocks);
  const dataBytes = readU32(b, at + IMAGE.dataBytes);
  const lsn = readU64(b, at + IMAGE.lsn);
  const layout = b[at + IMAGE.payloadLayout];
  if (layout !== PAYLOAD_LAYOUT_V3 && layout !== PAYLOAD_LAYOUT_V2) return -1;
  if (extentBlocks === 0 || lsn < 0 || lsn > U64_MAX_SAFE) return -1;
  if (imageBytes(dataBytes) > extentBlocks * DB_BLOCK_BYTES) return -1;
  return dataBytes;
}

/** Whether the image at `at` (all of it inside `b`) carries the crc that `salt` gives. */
export function imageCrcMatches(b: Uint8Array, at: number, head: ImageHead, salt: number): boolean {
  return imageCrcMatchesAt(b, at, head.dataBytes, salt);
}

/** imageCrcMatches given the head's dataBytes. */
export function imageCrcMatchesAt(b: Uint8Array, at: number, dataBytes: number, salt: number): boolean {
  const end = at + IMAGE_HEAD_BYTES + dataBytes;
  return crc32(b.subarray(at, end), salt) === readU32(b, end);
}

/** Whether a freed marker with a good crc starts at `at` (verify only: the scan ignores markers). */
export function isFreedMarker(b: Uint8Array, at: number, salt: number): boolean {
  if (at + IMAGE_HEAD_BYTES + 4 > b.byteLength) return false;
  if (readU32(b, at + IMAGE.magic) !== IMAGE_FREED_MAGIC) return false;
  return crc32(b.subarray(at, at + IMAGE_HEAD_BYTES), salt) === readU32(b, at + IMAGE_HEAD_BYTES);
}

/**
 * The session id a PUT payload starts with (`str16 id`), or undefined when it is not a valid
 * E1 id (the engine's own check, so both layers agree on what is corrupt). Only the first
 * field: the engine decodes the rest.
 */
export function parsePayloadId(b: Uint8Array, dataStart: number, dataBytes: number): string | undefined {
  return idAt(b, dataStart, dataBytes);
}

/**
 * parsePayloadId(b, dataStart, dataBytes) === id, without decoding a string when `id` is
 * ASCII (every id the store generates): its length and bytes compared in place. The
 * flusher checks every image it writes and reads back, so this runs per image.
 */
export function payloadHasId(b: Uint8Array, dataStart: number, dataBytes: number, id: string): boolean {
  const n = id.length;
  for (let i = 0; i < n; i++) if (id.charCodeAt(i) >= 0x80) return parsePayloadId(b, dataStart, dataBytes) === id;
  // An ASCII string is well formed and as many UTF-8 bytes as characters (isValidSessionId).
  if (n === 0 || n > SESSION_ID_BYTES_MAX || dataBytes < 2 + n) return false;
  if ((b[dataStart]! | (b[dataStart + 1]! << 8)) !== n) return false;
  for (let i = 0; i < n; i++) if (b[dataStart + 2 + i] !== id.charCodeAt(i)) return false;
  return true;
}
