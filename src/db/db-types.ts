/** The public shapes of the database file API (database-file.ts re-exports them). */

import type { Clock } from '../clock.js';
import type { PayloadLayout } from '../format/constants.js';
import type { FileSystem } from '../fs/file-system.js';
import type { DbCensus, DbDamage } from './db-census.js';

/**
 * One winning image, as the open scan hands it over. `data` is a view into the scanner's
 * read buffer (a Buffer): valid only during the callback; copy what must outlive it with
 * `Uint8Array.from(data)` (Buffer#slice would be another view).
 */
export interface StoredImage {
  id: string;
  lsn: number;
  data: Uint8Array;
  /** Byte offset of the image in sessions.db. */
  offset: number;
  /** The payload's layout (docs/format.md §2.2); absent: v3 (backends other than the block file). */
  layout?: PayloadLayout;
}

export interface DbWriteBatch {
  /** New images (copy on write). `data` is a PUT payload whose `str16 id` equals `id`. */
  puts: ReadonlyArray<{ id: string; lsn: number; data: Uint8Array }>;
  /** Sessions to free (deleted or expired); unknown ids are ignored. */
  deletes: readonly string[];
  /** Goes into the header after the images and markers are durable. */
  appliedLsn: number;
}

export interface DbStats {
  fileBytes: number;
  liveImages: number;
  /** Bytes of the live images themselves (head, data, crc). */
  liveBytes: number;
  /** Whole extents of the live images. */
  allocatedBytes: number;
  /** Free extents inside the file (below freeOffset). */
  freeBytes: number;
  freeExtents: number;
  /** File bytes past freeOffset. */
  tailFreeBytes: number;
  /** 0..1: free bytes inside the file / (allocated + free inside). */
  fragmentation: number;
  /** The header's freeOffset as the writer tracks it. */
  freeOffset: number;
}

export interface DbScanReport {
  /** Winning images handed to onImage. */
  images: number;
  /** Older copies of a session (crash leftovers) freed by the scan. */
  duplicatesFreed: number;
  /** Blocks that began like an image (live magic) but were not one: torn or damaged writes. */
  garbageBlocks: number;
  bytesScanned: number;
  /** Images with a good crc but a bad payload, dropped because the file was opened with salvage. */
  corruptImagesDropped: number;
  /** True when neither header slot was valid and salvage rebuilt the header. */
  headerRebuilt: boolean;
  /** The header's count against the images found (db-census.ts); recovery checks it against the logs. */
  census?: DbCensus;
  /** Sessions lost to damage (db-census.ts): set when opened with salvage, or when the logs can redo all of it (`redo`). */
  damage?: DbDamage;
  /** Damaged sessions the logs can redo (DbOpenOptions.redoable): recovery rebuilds them from their records. */
  redo?: string[];
}

export interface DbOpenOptions {
  fs: FileSystem;
  dir: string;
  /** Open despite a damaged header or corrupt images, dropping what cannot be read. */
  salvage?: boolean;
  /** Read size of the open scan; a multiple of 512. Default 4 MiB. */
  readChunkBytes?: number;
  /** For the header's createdAtMs. Default the system clock. */
  clock?: Clock;
  /**
   * Asked, when images the header counts are damaged, which of those sessions (id and lsn
   * read from the damaged heads) the logs can redo. When they cover every missing session
   * the open goes on and reports them in `redo`; otherwise damage refuses it as before.
   */
  redoable?: (damaged: ReadonlyArray<{ id: string; lsn: number }>) => Promise<string[]>;
}
