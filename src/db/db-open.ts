/**
 * Opening sessions.db: create it when missing, pick the header, scan (db-scan.ts), make
 * the scan's decisions durable (freed markers over losing duplicates, so a stale copy can
 * never come back once the winner is deleted), rebuild the free list, hand images out.
 */

import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { DB_BLOCK_BYTES, DB_FILE_NAME, DB_FIRST_DATA_OFFSET, DB_CREATE_SUFFIX } from '../format/constants.js';
import { ioError, SessiondError } from '../errors.js';
import { systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import type { FileHandle, FileSystem } from '../fs/file-system.js';
import { ChunkReader } from './chunk-reader.js';
import type { DbHeader } from './db-header.js';
import { chooseHeader, decodeDbHeader, encodeDbHeader } from './db-header.js';
import type { ScanResult } from './db-scan.js';
import { scanImages } from './db-scan.js';
import { DbState } from './db-state.js';
import type { DbOpenOptions, DbScanReport, StoredImage } from './db-types.js';
import { ExtentAllocator, FIRST_DATA_BLOCK } from './extent-allocator.js';
import { recoverSalt } from './salt-recovery.js';
import { censusDamage, damageContext, damagedImages, takeCensus } from './db-census.js';

export const READ_CHUNK_BYTES_DEFAULT = 4 * 1024 * 1024;
/**
 * A new file is built under this name and renamed into place, so sessions.db either does
 * not exist or has two valid header slots: a crash while creating never leaves a file
 * that only salvage can open.
 */

export async function openDbState(
  opts: DbOpenOptions,
  onImage: (img: StoredImage) => void,
): Promise<{ state: DbState; report: DbScanReport }> {
  const chunkBytes = opts.readChunkBytes ?? READ_CHUNK_BYTES_DEFAULT;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < DB_BLOCK_BYTES || chunkBytes % DB_BLOCK_BYTES !== 0) {
    throw new SessiondError('SESSIOND_INVALID_OPTION', `readChunkBytes must be a positive multiple of 512, got ${chunkBytes}`);
  }
  const { fs, dir } = opts;
  const clock = opts.clock ?? systemClock;
  const path = join(dir, DB_FILE_NAME);
  const existing = await io('stat', path, () => fs.stat(path));
  if (existing === undefined) await createDatabaseFile(fs, dir, path, clock);
  const handle = await io('open', path, () => fs.open(path, 'r+'));
  try {
    return await openHandle(handle, path, chunkBytes, opts.salvage === true, clock, onImage, opts.redoable);
  } catch (e) {
    await handle.close().catch(() => undefined);
    throw e;
  }
}

async function openHandle(
  handle: FileHandle,
  path: string,
  chunkBytes: number,
  salvage: boolean,
  clock: Clock,
  onImage: (img: StoredImage) => void,
  redoable: DbOpenOptions['redoable'],
): Promise<{ state: DbState; report: DbScanReport }> {
  const fileBytes = await io('size', path, () => handle.size());
  const reader = new ChunkReader(handle, fileBytes, chunkBytes);
  const headerBytes = new Uint8Array(DB_FIRST_DATA_OFFSET);
  const got = await io('read', path, () => handle.read(headerBytes, 0, DB_FIRST_DATA_OFFSET, 0));
  const slots = [0, 1].map((k) =>
    decodeDbHeader(headerBytes.subarray(k * DB_BLOCK_BYTES, Math.max(k * DB_BLOCK_BYTES, Math.min(got, (k + 1) * DB_BLOCK_BYTES)))),
  );
  let chosen = chooseHeader(slots, path);
  const rebuilt = chosen === undefined;
  if (chosen === undefined) {
    if (!salvage) {
      const reasons = slots.map((s, k) => `slot ${k}: ${s.kind === 'valid' ? 'ok' : s.reason}`).join('; ');
      throw new SessiondError('SESSIOND_DB_CORRUPT', `${path}: no valid header (${reasons})`, { file: path, offset: 0 });
    }
    const salt = (await recoverSalt(reader)) ?? newSalt();
    // appliedLsn 0 replays every log record still present: always safe, replay is idempotent.
    chosen = { header: newHeader(salt, clock), slot: 1 };
  }
  const scan = await scanImages(
    reader,
    chosen.header.salt,
    (offset, detail) => {
      if (!salvage) throw new SessiondError('SESSIOND_DB_CORRUPT', `${path} at ${offset}: ${detail}`, { file: path, offset });
    },
    onImage,
  );
  const census = rebuilt ? undefined : takeCensus(chosen.header, scan, fileBytes);
  const damage = census && censusDamage(census);
  // Asked before anything is written: a refused open changes nothing.
  const redo = damage === undefined || redoable === undefined ? [] : await redoable(damagedImages(census!, scan.index));
  if (damage !== undefined && !salvage && redo.length < damage.sessionsMissing) throw new SessiondError('SESSIOND_DB_CORRUPT', `${path}: ${damage.detail}`, damageContext(path, damage));
  const state = new DbState(path, handle, chosen.header, chosen.slot, scan.index, buildFreeList(scan), fileBytes);
  if (scan.toFree.length > 0) {
    await state.writeMarkers(scan.toFree);
    await state.sync();
  }
  if (rebuilt) {
    // Both slots, one after the other (writeHeader writes the header into each).
    await state.writeHeader(0, state.alloc.endBlock);
  }
  const report: DbScanReport = {
    images: scan.index.size,
    duplicatesFreed: scan.duplicatesFreed,
    garbageBlocks: scan.garbageBlocks,
    bytesScanned: Math.max(0, fileBytes - DB_FIRST_DATA_OFFSET),
    corruptImagesDropped: scan.corruptImages,
    headerRebuilt: rebuilt,
    census,
    damage,
    ...(redo.length > 0 ? { redo } : {}),
  };
  return { state, report };
}

/** Free extents = the gaps between winning images (losers were marked freed above). */
function buildFreeList(scan: ScanResult): ExtentAllocator {
  const alloc = new ExtentAllocator(scan.endBlock);
  const lost = new Set(scan.toFree.map((e) => e.start));
  let at = FIRST_DATA_BLOCK;
  scan.candidates.forEach((start, k) => {
    if (lost.has(start)) return;
    if (start > at) alloc.release(at, start - at);
    at = start + scan.candidateBlocks[k]!;
  });
  return alloc;
}

async function createDatabaseFile(fs: FileSystem, dir: string, path: string, clock: Clock): Promise<void> {
  const tmp = path + DB_CREATE_SUFFIX;
  const h = newHeader(newSalt(), clock);
  await io('create', tmp, async () => {
    const fh = await fs.open(tmp, 'create');
    try {
      await fh.truncate(0);
      await fh.writev([encodeDbHeader(h), encodeDbHeader({ ...h, headerSeq: h.headerSeq + 1 })], 0);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, path);
    await fs.syncDir(dir);
  });
}

function newHeader(salt: number, clock: Clock): DbHeader {
  const createdAtMs = Math.max(0, Math.floor(clock.now()));
  return { headerSeq: 0, salt, freeOffset: DB_FIRST_DATA_OFFSET, appliedLsn: 0, createdAtMs, liveImages: 0, freeingImages: 0 };
}

/** Never 0, so a crc seeded with 0 (the easy guess) is never valid here. */
function newSalt(): number {
  return randomInt(1, 0x1_0000_0000);
}

async function io<T>(op: string, file: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw ioError(op, file, e);
  }
}
