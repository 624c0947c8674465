/**
 * `sessiond verify` for the database file: reads it (never writes), reports every problem
 * with its offset. Crash leftovers are not problems: torn images (free space) and older
 * duplicate copies (the next open frees them) are only counted.
 */

import type { StoredImage } from './db-types.js';
import type { FileSystem } from '../fs/file-system.js';
import { DB_BLOCK_BYTES } from '../format/constants.js';
import { ioError } from '../errors.js';
import { ChunkReader } from './chunk-reader.js';
import type { DbHeader } from './db-header.js';
import { decodeDbHeader } from './db-header.js';
import { READ_CHUNK_BYTES_DEFAULT } from './db-open.js';
import { scanImages } from './db-scan.js';
import { recoverSalt } from './salt-recovery.js';
import { censusDamage, damagedImages, takeCensus, type DbCensus, type DbDamage } from './db-census.js';

export interface DbProblem {
  offset: number;
  /** 'missing-file' | 'header-slot' | 'unsupported-format' | 'no-header' | 'image-payload' | 'missing-images' */
  kind: string;
  detail: string;
}

export interface DbVerifyReport {
  ok: boolean;
  /** The current header (valid slot with the larger headerSeq), undefined when neither is valid. */
  header: DbHeader | undefined;
  /** Live sessions: the winning images the next open would load. */
  images: number;
  /** Older copies the next open will free. */
  duplicates: number;
  /** Blocks that began like an image but were not one (torn writes). */
  garbageBlocks: number;
  fileBytes: number;
  problems: DbProblem[];
  /** The header's count against the images (db-census.ts): verify-store checks it against the logs. */
  census?: DbCensus;
  /** Sessions missing to damage, with the sessions the damaged heads name (verify-store asks the logs whether they can redo them). */
  damage?: DbDamage & { damaged: Array<{ id: string; lsn: number }> };
}

export async function verifyDatabaseFile(
  fs: FileSystem,
  path: string,
  opts: {
    readChunkBytes?: number;
    /** Sees every image that wins when found (a later copy may replace it), to check payloads beyond the id; return a problem text or undefined. */
    checkImage?: (img: StoredImage) => string | undefined;
  } = {},
): Promise<DbVerifyReport> {
  const report: DbVerifyReport = {
    ok: false,
    header: undefined,
    images: 0,
    duplicates: 0,
    garbageBlocks: 0,
    fileBytes: 0,
    problems: [],
  };
  const problem = (offset: number, kind: string, detail: string): void => {
    report.problems.push({ offset, kind, detail });
  };
  let handle;
  try {
    if ((await fs.stat(path)) === undefined) {
      problem(0, 'missing-file', `${path} does not exist`);
      return report;
    }
    handle = await fs.open(path, 'r');
    report.fileBytes = await handle.size();
  } catch (e) {
    await handle?.close().catch(() => undefined);
    throw ioError('open', path, e);
  }
  try {
    const reader = new ChunkReader(handle, report.fileBytes, opts.readChunkBytes ?? READ_CHUNK_BYTES_DEFAULT);
    const salt = await checkHeader(reader, report, problem);
    if (salt === undefined) return report;
    const scan = await scanImages(
      reader,
      salt,
      (offset, detail) => problem(offset, 'image-payload', detail),
      (img) => {
        const bad = opts.checkImage?.(img);
        if (bad !== undefined) problem(img.offset, 'image-payload', bad);
      },
    );
    report.census = report.header && takeCensus(report.header, scan, report.fileBytes);
    const damage = report.census && censusDamage(report.census);
    if (damage) {
      problem(damage.offset, 'missing-images', damage.detail);
      report.damage = { ...damage, damaged: damagedImages(report.census!, scan.index) };
    }
    report.images = scan.index.size;
    report.duplicates = scan.duplicatesFreed;
    report.garbageBlocks = scan.garbageBlocks;
    report.ok = report.problems.length === 0;
    return report;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Checks both slots; returns the salt to scan with (recovered when no slot is valid). */
async function checkHeader(
  reader: ChunkReader,
  report: DbVerifyReport,
  problem: (offset: number, kind: string, detail: string) => void,
): Promise<number | undefined> {
  const got = await reader.fill(0);
  for (const k of [0, 1]) {
    const from = k * DB_BLOCK_BYTES;
    const slot = decodeDbHeader(reader.buffer.subarray(from, Math.max(from, Math.min(got, from + DB_BLOCK_BYTES))));
    if (slot.kind === 'invalid') {
      problem(from, 'header-slot', `header slot ${k}: ${slot.reason}`);
    } else if (slot.kind === 'unsupported') {
      problem(from, 'unsupported-format', `header slot ${k}: ${slot.reason}`);
    } else if (!report.header || slot.header.headerSeq > report.header.headerSeq) {
      report.header = slot.header;
    }
  }
  if (report.problems.some((p) => p.kind === 'unsupported-format')) return undefined;
  if (report.header) return report.header.salt;
  const salt = await recoverSalt(reader);
  problem(
    0,
    'no-header',
    salt === undefined
      ? 'no valid header slot and no image to recover the salt from'
      : 'no valid header slot; open with salvage would rebuild it (image count below uses the recovered salt)',
  );
  return salt;
}
