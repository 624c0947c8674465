import type { DbScanReport, DbStats, DbWriteBatch, StoredImage } from '../db/db-types.js';
import type { FileSystem } from '../fs/file-system.js';
import { DatabaseFile } from '../db/database-file.js';
import type { LoopSlice } from '../util/loop-slice.js';

/**
 * What the engine needs of its database (claims 8, 14h): the place the flusher moves
 * sessions to and recovery rebuilds from. The block file `sessions.db` is the embedded
 * implementation; a shared backend (PostgreSQL, Redis) implements the same interface and
 * is passed as the engine's `database` option, without reshaping the engine.
 */
export interface SessionDatabase {
  /** Every log record with lsn <= appliedLsn is reflected in the database. */
  readonly appliedLsn: number;
  /** Highest LSN of any stored session (0 if none). */
  readonly maxImageLsn: number;
  readonly scanReport: DbScanReport;
  has(id: string): boolean;
  /** Where the session is stored, for the log record's dbOffset field (DB_OFFSET_NONE if nowhere). */
  offsetOf(id: string): number;
  /**
   * LSN of the stored copy of `id`, -1 when there is none. With readImage, lets the engine
   * evict sessions under `cacheBytesMax` (docs/memory.md); a backend without them cannot.
   */
  imageLsnOf?(id: string): number;
  /** The stored copy of `id` (a PUT payload) and its lsn, read back on demand; undefined when there is none. */
  readImage?(id: string): Promise<{ data: Uint8Array; lsn: number } | undefined>;
  /**
   * Durable when it resolves; appliedLsn advances only then. `slice`: cut the CPU work
   * before the I/O into slices between event-loop turns (a backend may ignore it).
   */
  writeBatch(batch: DbWriteBatch, slice?: LoopSlice): Promise<void>;
  /**
   * Reads the stored copies of `ids` back and returns those that do not check out, with the
   * file and offset to name (docs/durability.md "Corruption"). Optional: a backend whose
   * writes cannot be damaged silently on their way to disk omits it. `slice` as writeBatch's.
   */
  readBack?(ids: readonly string[], slice?: LoopSlice): Promise<Array<{ id: string; file: string; offset: number; detail: string }>>;
  compact(): Promise<{ bytesBefore: number; bytesAfter: number; moved: number }>;
  /**
   * Overwrites whatever the store keeps of deleted or replaced sessions (free space) and
   * makes that durable; `engine.rekey()` calls it last, so no byte sealed under an older
   * key is left. Optional: a backend that keeps no such bytes omits it.
   */
  scrubFree?(): Promise<{ bytesZeroed: number; bytesTrimmed: number }>;
  stats(): DbStats;
  close(): Promise<void>;
}

export interface SessionDatabaseOpenOptions {
  fs: FileSystem;
  dir: string;
  salvage: boolean;
  /** Which damaged sessions the logs can redo (a file-backed database asks; see DbOpenOptions.redoable). */
  redoable?: (damaged: ReadonlyArray<{ id: string; lsn: number }>) => Promise<string[]>;
}

/**
 * Opens a database and hands every stored session (a PUT payload) to `onImage`. A session
 * may be handed over more than once, each time with a higher lsn: the last one is current.
 */
export interface SessionDatabaseFactory {
  open(opts: SessionDatabaseOpenOptions, onImage: (img: StoredImage) => void): Promise<SessionDatabase>;
}

/** The embedded default: the block-structured file in the store directory. */
export const blockFileDatabase: SessionDatabaseFactory = Object.freeze({
  open: (opts: SessionDatabaseOpenOptions, onImage: (img: StoredImage) => void) => DatabaseFile.open(opts, onImage),
});
