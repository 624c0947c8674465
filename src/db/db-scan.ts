/**
 * The open scan (docs/format.md §2.4), one pass over big chunks: walks block by block from
 * block 2 to the end of the file. A block that starts a valid image (salted crc) is
 * recorded and its extent skipped; anything else is free space and the walk moves one
 * block. Duplicates resolve as they appear (higher lsn wins, equal lsn: lower offset), and
 * every copy that wins *when it is found* goes to `onImage` at once, as a view into the
 * chunk: a later copy that wins is handed over again and replaces it. One read of the file,
 * no list of winners kept for a second pass.
 *
 * Known cost: a block in free space that starts with the live magic costs a read and a
 * crc of the bytes its head claims before it is found to be garbage. Free space crafted
 * with many such heads can slow a scan down; it can never make one wrong (no salt, no image).
 */

import { crc32 } from 'node:zlib';
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
  /** Start block of every image that won when it was found, ascending (some lost later: see toFree). */
  candidates: number[];
  /** extentBlocks of each candidate (parallel to `candidates`). */
  candidateBlocks: number[];
  /** Extents with a valid image that must be freed: duplicates that lost, corrupt images. */
  toFree: Extent[];
  /** End of the last winning extent: the free space at the end starts here. */
  endBlock: number;
  duplicatesFreed: number;
  garbageBlocks: number;
  corruptImages: number;
  /** Live image heads whose crc failed (torn writes, or damage): where to look when images are missing. */
  badHeads: Array<{ offset: number; lsn: number; id: string | undefined }>;
}

/** badHeads kept for a message; the count is in garbageBlocks. */
const BAD_HEADS_MAX = 64;

/**
 * Pass 1. `onCorrupt` is called for an image whose crc is good but whose payload id does
 * not decode; it throws to refuse the file, or returns to have the extent freed.
 */
export async function scanImages(
  reader: ChunkReader,
  salt: number,
  onCorrupt: (offset: number, detail: string) => void,
  onImage: (img: StoredImage) => void,
): Promise<ScanResult> {
  const index = new SessionIndex();
  const r: ScanResult = {
    index,
    candidates: [],
    candidateBlocks: [],
    toFree: [],
    endBlock: FIRST_DATA_BLOCK,
    duplicatesFreed: 0,
    garbageBlocks: 0,
    corruptImages: 0,
    badHeads: [],
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
      if (r.badHeads.length < BAD_HEADS_MAX) r.badHeads.push({ offset: pos, lsn: head.lsn, id: hintedId(reader, pos, head) });
      pos += DB_BLOCK_BYTES;
      continue;
    }
    const extent = { start: pos / DB_BLOCK_BYTES, blocks: head.extentBlocks };
    if (id === undefined) {
      onCorrupt(pos, 'image crc matches but its payload does not start with a valid session id');
      r.corruptImages++;
      r.toFree.push(extent);
    } else if (record(r, id, extent, head)) {
      onImage({ id, lsn: head.lsn, data: await imageData(reader, pos, head), offset: pos, layout: head.layout });
    }
    pos += head.extentBlocks * DB_BLOCK_BYTES;
  }
  index.forEach((_id, start, blocks) => {
    r.endBlock = Math.max(r.endBlock, start + blocks);
  });
  return r;
}

/** The id a damaged image's payload starts with, if its bytes are loaded and it parses (unverified: for messages). */
function hintedId(reader: ChunkReader, pos: number, head: ImageHead): string | undefined {
  const i = reader.indexOf(pos, IMAGE_HEAD_BYTES + Math.min(head.dataBytes, 256));
  return i < 0 ? undefined : parsePayloadId(reader.buffer, i + IMAGE_HEAD_BYTES, head.dataBytes);
}

/** Records an image; true when it wins (so far) and must be handed over. */
function record(r: ScanResult, id: string, extent: Extent, head: ImageHead): boolean {
  const existing = r.index.slotOf(id);
  if (existing >= 0) {
    r.duplicatesFreed++;
    // Found in file order, so the existing copy has the lower offset and wins a tie.
    if (head.lsn <= r.index.lsnAt(existing)) {
      r.toFree.push(extent);
      return false;
    }
  }
  const entry = { startBlock: extent.start, extentBlocks: extent.blocks, lsn: head.lsn, imageBytes: imageBytes(head.dataBytes) };
  if (existing < 0) {
    r.index.insert(id, entry);
  } else {
    const old = r.index.set(id, entry)!;
    r.toFree.push({ start: old.startBlock, blocks: old.extentBlocks });
  }
  r.candidates.push(extent.start);
  r.candidateBlocks.push(extent.blocks);
  return true;
}

/** The payload of the image at `pos`, checked by the scan just before: a view into the chunk when it fits. */
async function imageData(reader: ChunkReader, pos: number, head: ImageHead): Promise<Uint8Array> {
  const total = imageBytes(head.dataBytes);
  let buf = reader.buffer;
  let i: number;
  if (total <= reader.chunkBytes) {
    i = reader.indexOf(pos, total);
    if (i < 0) i = await reader.load(pos, total);
  } else {
    buf = await reader.readExact(pos, total);
    i = 0;
  }
  return buf.subarray(i + IMAGE_HEAD_BYTES, i + IMAGE_HEAD_BYTES + head.dataBytes);
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
