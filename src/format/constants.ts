/**
 * Every constant of sessiond's on-disk formats (docs/format.md). Writers and readers
 * import them from here and nowhere else.
 */

/** Largest value a u64 field may hold; JS numbers are exact up to here. */
export const U64_MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** `dbOffset` value meaning "this change has no database image yet". */
export const DB_OFFSET_NONE = Number.MAX_SAFE_INTEGER;

// ---- log file (docs/format.md §1) ----
export const LOG_MAGIC = 'SESSDLOG';
export const LOG_FORMAT_VERSION = 1;
export const LOG_HEADER_BYTES = 512;
export const LOG_HEADER = {
  magic: 0,
  formatVersion: 8,
  headerBytes: 12,
  generation: 16,
  firstLsn: 24,
  salt: 32,
  createdAtMs: 40,
  crc: 508,
} as const;

export const RECORD_START_MAGIC = 0x53455352;
export const RECORD_END_MAGIC = 0x52534553;
/** Bytes of a record that are not `data`: 48 before it, crc + end magic after it. */
export const RECORD_OVERHEAD_BYTES = 56;
export const RECORD_HEAD_BYTES = 48;
export const RECORD = {
  startMagic: 0,
  recordBytes: 4,
  dataBytes: 8,
  type: 12,
  generation: 16,
  lsn: 24,
  dbOffset: 32,
  syncedBytes: 40,
  data: 48,
} as const;

export const RecordType = {
  PUT: 1,
  PATCH: 2,
  TOUCH: 3,
  DELETE: 4,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export const LOG_FILE_NAMES = ['log-0', 'log-1'] as const;

// ---- database file (docs/format.md §2) ----
export const DB_FILE_NAME = 'sessions.db';
/** Where a new database file is built before it is renamed to DB_FILE_NAME. */
export const DB_CREATE_SUFFIX = '.new';
export const DB_MAGIC = 'SESSDDB1';
export const DB_FORMAT_VERSION = 1;
export const DB_BLOCK_BYTES = 512;
/** Blocks 0 and 1 are the two header slots; images start at block 2. */
export const DB_HEADER_SLOTS = 2;
export const DB_FIRST_DATA_OFFSET = DB_HEADER_SLOTS * DB_BLOCK_BYTES;
export const DB_HEADER = {
  magic: 0,
  formatVersion: 8,
  blockBytes: 12,
  headerSeq: 16,
  salt: 24,
  freeOffset: 32,
  appliedLsn: 40,
  createdAtMs: 48,
  crc: 508,
} as const;

export const IMAGE_LIVE_MAGIC = 0x49534553;
export const IMAGE_FREED_MAGIC = 0x46534553;
export const IMAGE_HEAD_BYTES = 24;
/** Head + trailing crc. */
export const IMAGE_OVERHEAD_BYTES = 28;
export const IMAGE = {
  magic: 0,
  extentBlocks: 4,
  dataBytes: 8,
  lsn: 16,
  data: 24,
} as const;

export const LOCK_FILE_NAME = 'LOCK';
/** LOCK holds one line, `sessiond pid <pid>[ netns <inode> pidns <inode>]\n` (docs/format.md, LOCK). */
export const LOCK_LINE_PREFIX = 'sessiond pid ';
/** A LOCK longer than this is not ours (read one byte more to tell). */
export const LOCK_LINE_BYTES_MAX = 96;
/** The abstract Unix socket a holder listens on: this prefix + `<st_dev>-<st_ino>` of the store directory. */
export const LOCK_MUTEX_NAME_PREFIX = 'sessiond-lock-v1-';

// ---- session payloads (docs/format.md §3) ----
/** Separates a JSON-encoded attribute name from its serialized value in a blob. */
export const ATTR_NAME_SEP = '\u0001';
/** Separates attributes in a blob, and names in a removed-names list. */
export const ATTR_SEP = '\u0000';
/** The owner is a str8 in every payload. */
export const OWNER_BYTES_MAX = 255;
