/**
 * The open scan (docs/format.md §2.4), in two passes over big chunks:
 *
 * 1. `scanImages` walks block by block from block 2 to the end of the file. A block that
 *    starts a valid image (salted crc) is recorded and its extent skipped; anything else
 *    is free space and the walk moves one block. Duplicates resolve as they appear
 *    (higher lsn wins, equal lsn: lower offset). Nothing is handed out yet, because a
 *    later copy may still win.
 * 2. `deliverImages` re-reads the winners in file order and hands each to the callback as
 *    a view into the chunk (no copy). Sequential, and usually from the page cache.
 *
 * Known cost: a block in free space that starts with the live magic costs a read and a
 * crc of the bytes its head claims before it is found to be garbage. Free space crafted
 * with many such heads can slow a scan down; it can never make one wrong (no salt, no image).
 */

import { crc32 } from 'node:zlib';
import { assert } from '../assert.js';
import { DB_BLOCK_BYTES, DB_FIRST_DATA_OFFSET, IMAGE_HEAD_BYTES } from '../format/constants.js';
import { readU32 } from '../format/bytes.js';
import type { ChunkReader } from './chunk-reader.js';
import type { StoredImage } from './db-types.js';
import type { Extent } from './extent-allocator.js';
import { FIRST_DATA_BLOCK } from './extent-allocator.js';
import type { ImageHead } from './image-codec.js';
import { imageBytes, imageCrcMatches, parsePayloadId, readImageHead } from './image-codec.js';
import { SessionIndex } from './session-index.js';

export interface ScanResult {
  index: SessionIndex;
  /** Start block of every image that won when it was found, ascending (pass 2 filters). */
  candidates: number[];
  /** extentBlocks, id and index slot of each candidate (parallel to `candidates`). */
  candidateBlocks: number[];
  candidateIds: string[];
  candidateSlots: number[];
  /** Extents with a valid image that must be freed: duplicates that lost, corrupt images. */
  toFree: Extent[];
  /** End of the last winning extent: the free space at the end starts here. */
  endBlock: number;
  duplicatesFreed: number;
  garbageBlocks: number;
  corruptImages: number;
}

/**
 * Pass 1. `onCorrupt` is called for an image whose crc is good but whose payload id does
 * not decode; it throws to refuse the file, or returns to have the extent freed.
 */
export async function scanImages(
  reader: ChunkReader,
  salt: number,
  onCorrupt: (offset: number, detail: string) => void,
): Promise<ScanResult> {
  const index = new SessionIndex();
  const r: ScanResult = {
    index,
    candidates: [],
    candidateBlocks: [],
    candidateIds: [],
    candidateSlots: [],
    toFree: [],
    endBlock: FIRST_DATA_BLOCK,
    duplicatesFreed: 0,
    garbageBlocks: 0,
    corruptImages: 0,
  };
  const fileBytes = reader.fileBytes;
  let pos = DB_FIRST_DATA_OFFSET;
  while (pos + IMAGE_HEAD_BYTES <= fileBytes) {
    let i = reader.indexOf(pos, IMAGE_HEAD_BYTES);
    if (i < 0) i = await reader.load(pos, IMAGE_HEAD_BYTES);
    const head = readImageHead(reader.buffer, i);
    if (head === undefined) {
      pos += DB_BLOCK_BYTES;
      continue;
    }
    let id = checkImage(reader, pos, head, salt);
    if (id instanceof Promise) id = await id;
    if (id === null) {
      r.garbageBlocks++;
      pos += DB_BLOCK_BYTES;
      continue;
    }
    const extent = { start: pos / DB_BLOCK_BYTES, blocks: head.extentBlocks };
    if (id === undefined) {
      onCorrupt(pos, 'image crc matches but its payload does not start with a valid session id');
      r.corruptImages++;
      r.toFree.push(extent);
    } else {
      record(r, id, extent, head);
    }
    pos += head.extentBlocks * DB_BLOCK_BYTES;
  }
  index.forEach((_id, start, blocks) => {
    r.endBlock = Math.max(r.endBlock, start + blocks);
  });
  return r;
}

function record(r: ScanResult, id: string, extent: Extent, head: ImageHead): void {
  const existing = r.index.slotOf(id);
  if (existing >= 0) {
    r.duplicatesFreed++;
    // Found in file order, so the existing copy has the lower offset and wins a tie.
    if (head.lsn <= r.index.lsnAt(existing)) {
      r.toFree.push(extent);
      return;
    }
  }
  const entry = { startBlock: extent.start, extentBlocks: extent.blocks, lsn: head.lsn, imageBytes: imageBytes(head.dataBytes) };
  let slot = existing;
  if (existing < 0) {
    slot = r.index.insert(id, entry);
  } else {
    const old = r.index.set(id, entry)!;
    r.toFree.push({ start: old.startBlock, blocks: old.extentBlocks });
  }
  r.candidates.push(extent.start);
  r.candidateBlocks.push(extent.blocks);
  r.candidateIds.push(id);
  r.candidateSlots.push(slot);
}

/**
 * null: not an image (past the end, bad crc). undefined: a real image (good crc) whose
 * payload id does not decode. Otherwise the id. Awaits only to load bytes: a microtask
 * per image would add up over millions.
 */
function checkImage(reader: ChunkReader, pos: number, head: ImageHead, salt: number): Promise<string | null | undefined> | string | null | undefined {
  const total = imageBytes(head.dataBytes);
  if (pos + total > reader.fileBytes) return null;
  if (total > reader.chunkBytes) return checkBigImage(reader, pos, head, salt);
  const i = reader.indexOf(pos, total);
  if (i < 0) return reader.load(pos, total).then((j) => checkLoadedImage(reader.buffer, j, head, salt));
  return checkLoadedImage(reader.buffer, i, head, salt);
}

function checkLoadedImage(b: Uint8Array, i: number, head: ImageHead, salt: number): string | null | undefined {
  if (!imageCrcMatches(b, i, head, salt)) return null;
  return parsePayloadId(b, i + IMAGE_HEAD_BYTES, head.dataBytes);
}

async function checkBigImage(reader: ChunkReader, pos: number, head: ImageHead, salt: number): Promise<string | null | undefined> {
  if (!(await bigImageCrcMatches(reader, pos, head, salt))) return null;
  const i = await reader.load(pos, reader.chunkBytes);
  return parsePayloadId(reader.buffer, i + IMAGE_HEAD_BYTES, head.dataBytes);
}

/**
 * The crc of an image larger than a chunk, streamed chunk by chunk so a garbage head
 * claiming gigabytes costs reads, never a giant allocation.
 */
async function bigImageCrcMatches(reader: ChunkReader, pos: number, head: ImageHead, salt: number): Promise<boolean> {
  const end = pos + IMAGE_HEAD_BYTES + head.dataBytes;
  let crc = salt;
  for (let p = pos; p < end; ) {
    const n = Math.min(reader.chunkBytes, end - p);
    const i = await reader.load(p, n);
    crc = crc32(reader.buffer.subarray(i, i + n), crc);
    p += n;
  }
  const i = await reader.load(end, 4);
  return crc === readU32(reader.buffer, i);
}

/** Pass 2: hands every winner to `onImage`, in file order. Returns how many. */
export async function deliverImages(
  reader: ChunkReader,
  scan: ScanResult,
  onImage: (img: StoredImage) => void,
): Promise<number> {
  let delivered = 0;
  for (let k = 0; k < scan.candidates.length; k++) {
    const start = scan.candidates[k]!;
    // Pass 1 never frees a slot; a later copy that won moved the slot's extent elsewhere.
    if (scan.index.startAt(scan.candidateSlots[k]!) !== start) continue;
    const pos = start * DB_BLOCK_BYTES;
    let buf = reader.buffer;
    let i = reader.indexOf(pos, IMAGE_HEAD_BYTES);
    if (i < 0) i = await reader.load(pos, IMAGE_HEAD_BYTES);
    const head = readImageHead(buf, i);
    assert(head !== undefined, `image at ${pos} changed between scan passes`);
    const total = imageBytes(head.dataBytes);
    if (total <= reader.chunkBytes) {
      i = reader.indexOf(pos, total);
      if (i < 0) i = await reader.load(pos, total);
    } else {
      buf = await reader.readExact(pos, total);
      i = 0;
    }
    const data = buf.subarray(i + IMAGE_HEAD_BYTES, i + IMAGE_HEAD_BYTES + head.dataBytes);
    onImage({ id: scan.candidateIds[k]!, lsn: head.lsn, data, offset: pos });
    delivered++;
  }
  assert(delivered === scan.index.size, `delivered ${delivered} images for ${scan.index.size} sessions`);
  return delivered;
}
