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
import { pushZeros } from './zeros.js';

/**
 * Image heads, crcs and marker heads are views of one slab, each region handed out once
 * and never written again after it is returned (a full slab is replaced, not reused). A
 * typed array of 64 bytes or less is allocated on V8's heap, and a writev of it makes V8
 * move it off the heap first: 2-3 µs per image in a flush (the `writeBuffers` self time of
 * the engine-writes profile, docs/benchmarks.md). Views of a slab are already off the heap.
 */
const SLAB_BYTES = 64 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabAt = 0;

/** `bytes` fresh zeroed bytes (bytes <= SLAB_BYTES) no other caller ever gets. */
function slabBytes(bytes: number): Uint8Array {
  if (slabAt + bytes > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabAt = 0;
  }
  const b = slab.subarray(slabAt, slabAt + bytes);
  slabAt += bytes;
  return b;
}

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
 * A live image as iovecs filling its whole extent: head, the caller's `data` (not
 * copied), then crc and zero padding. Padding the extent means every block of a live
 * extent is rewritten, so no stale bytes of an older image survive inside it.
 */
export function encodeImage(salt: number, lsn: number, data: Uint8Array): { buffers: Uint8Array[]; blocks: number } {
  // Once per image of a flush: a message is built only when a check fails.
  if (!(Number.isSafeInteger(lsn) && lsn >= 0)) assert(false, `image lsn must be a safe integer, got ${lsn}`);
  if (!(data.byteLength <= IMAGE_DATA_BYTES_MAX)) assert(false, `image data too large: ${data.byteLength}`);
  const blocks = extentBlocksFor(data.byteLength);
  const head = slabBytes(IMAGE_HEAD_BYTES);
  writeU32(head, IMAGE.magic, IMAGE_LIVE_MAGIC);
  writeU32(head, IMAGE.extentBlocks, blocks);
  writeU32(head, IMAGE.dataBytes, data.byteLength);
  head[IMAGE.payloadLayout] = PAYLOAD_LAYOUT_V3; // writers only write v3 payloads
  writeU64(head, IMAGE.lsn, lsn);
  const pad = blocks * DB_BLOCK_BYTES - imageBytes(data.byteLength);
  const crc = slabBytes(4);
  writeU32(crc, 0, crc32(data, crc32(head, salt)));
  const buffers = data.byteLength > 0 ? [head, data, crc] : [head, crc];
  return { buffers: pushZeros(buffers, pad), blocks };
}

/**
 * encodeFreedMarker's block as iovecs (its 28 leading bytes, then shared zeros), followed
 * by zeros up to `writtenBlocks` blocks (1 by default; at most `extentBlocks`).
 */
export function freedMarkerBuffers(salt: number, extentBlocks: number, writtenBlocks = 1): Uint8Array[] {
  assert(writtenBlocks >= 1 && writtenBlocks <= extentBlocks, `marker of ${extentBlocks} blocks written over ${writtenBlocks}`);
  const head = slabBytes(IMAGE_HEAD_BYTES + 4);
  writeU32(head, IMAGE.magic, IMAGE_FREED_MAGIC);
  writeU32(head, IMAGE.extentBlocks, extentBlocks);
  writeU32(head, IMAGE_HEAD_BYTES, crc32(head.subarray(0, IMAGE_HEAD_BYTES), salt));
  return pushZeros([head], writtenBlocks * DB_BLOCK_BYTES - head.byteLength);
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
  if (readU32(b, at + IMAGE.magic) !== IMAGE_LIVE_MAGIC) return undefined;
  const extentBlocks = readU32(b, at + IMAGE.extentBlocks);
  const dataBytes = readU32(b, at + IMAGE.dataBytes);
  const lsn = readU64(b, at + IMAGE.lsn);
  const layout = b[at + IMAGE.payloadLayout];
  if (layout !== PAYLOAD_LAYOUT_V3 && layout !== PAYLOAD_LAYOUT_V2) return undefined;
  if (extentBlocks === 0 || lsn < 0 || lsn > U64_MAX_SAFE) return undefined;
  if (imageBytes(dataBytes) > extentBlocks * DB_BLOCK_BYTES) return undefined;
  return { extentBlocks, dataBytes, lsn, layout };
}

/** Whether the image at `at` (all of it inside `b`) carries the crc that `salt` gives. */
export function imageCrcMatches(b: Uint8Array, at: number, head: ImageHead, salt: number): boolean {
  const end = at + IMAGE_HEAD_BYTES + head.dataBytes;
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
