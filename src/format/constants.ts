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
/**
 * 2: the session id in payloads became `str16` (was `str8`, at most 255 bytes).
 * 3: PUT and PATCH carry the principal and a sealable attribute field (docs/format.md §3).
 */
export const LOG_FORMAT_VERSION = 3;
/** Versions a reader accepts: a v2 log's records are decoded in the v2 layout (format.md §3.8). */
export const LOG_FORMAT_VERSIONS_READ: readonly number[] = [2, 3];
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
  /** A destroy: deletes like DELETE and carries the time, so the tombstone survives a restart. */
  TOMBSTONE: 5,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export const LOG_FILE_NAMES = ['log-0', 'log-1'] as const;

// ---- database file (docs/format.md §2) ----
export const DB_FILE_NAME = 'sessions.db';
/** Where a new database file is built before it is renamed to DB_FILE_NAME. */
export const DB_CREATE_SUFFIX = '.new';
export const DB_MAGIC = 'SESSDDB1';
/** 2: the session id in image payloads became `str16` (was `str8`). 3: images say their payload layout. */
export const DB_FORMAT_VERSION = 3;
/** Versions a reader accepts: a v2 file's images all have payloadLayout 0 (format.md §2.2). */
export const DB_FORMAT_VERSIONS_READ: readonly number[] = [2, 3];
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
  /** Sessions with a live image when this header was written: the open checks none went missing (format.md §2.4). */
  liveImages: 56,
  /** Sessions the batch in progress frees (deleted, expired); 0 once a batch completes. */
  freeingImages: 64,
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
  /** u8: PAYLOAD_LAYOUT_V3, or PAYLOAD_LAYOUT_V2 in images written before format v3. */
  payloadLayout: 12,
  lsn: 16,
  data: 24,
} as const;

/** Payload layouts (docs/format.md §3, §3.8): the value of an image's payloadLayout byte. */
export const PAYLOAD_LAYOUT_V2 = 0;
export const PAYLOAD_LAYOUT_V3 = 3;
export type PayloadLayout = typeof PAYLOAD_LAYOUT_V2 | typeof PAYLOAD_LAYOUT_V3;

export const LOCK_FILE_NAME = 'LOCK';
/** LOCK holds one line, `sessiond pid <pid>[ netns <inode> pidns <inode>]\n` (docs/format.md, LOCK). */
export const LOCK_LINE_PREFIX = 'sessiond pid ';
/** A LOCK longer than this is not ours (read one byte more to tell). */
export const LOCK_LINE_BYTES_MAX = 96;
/** The abstract Unix socket a holder listens on: this prefix + `<st_dev>-<st_ino>` of the store directory. */
export const LOCK_MUTEX_NAME_PREFIX = 'sessiond-lock-v1-';

// ---- tombstone file (docs/format.md §5) ----
export const TOMBSTONE_FILE_NAME = 'tombstones';
/** Where a new tombstone file is written before it is renamed over TOMBSTONE_FILE_NAME. */
export const TOMBSTONE_FILE_NEW_SUFFIX = '.new';
export const TOMBSTONE_FILE_MAGIC = 'SESSDTMB';
export const TOMBSTONE_FILE_VERSION = 1;
export const TOMBSTONE_FILE = {
  magic: 0,
  formatVersion: 8,
  count: 12,
  savedAtMs: 16,
  entries: 24,
} as const;
/** Bytes of the file that are not entries: the head, and the crc at the end. */
export const TOMBSTONE_FILE_OVERHEAD_BYTES = 28;

// ---- session payloads (docs/format.md §3) ----
/** Separates a JSON-encoded attribute name from its serialized value in a blob. */
export const ATTR_NAME_SEP = '\u0001';
/** Separates attributes in a blob, and names in a removed-names list. */
export const ATTR_SEP = '\u0000';
/**
 * The adapters' expiry slots (docs/format.md §3.6): a raw control character (one that
 * JSON.stringify never writes) standing, inside an attribute's JSON text, for the engine's
 * expiry of the session, as an ISO-8601 string or as epoch milliseconds. The framework's
 * own copy of the expiry then never changes an attribute: moving it is a TOUCH record.
 */
export const EXPIRY_ISO_SLOT = '\u0002';
export const EXPIRY_MS_SLOT = '\u0003';
/** Most UTF-8 bytes of a session ID: the `str16 id` of every payload (u16 length) holds it. */
export const SESSION_ID_BYTES_MAX = 512;
/** The owner is a str8 in every payload. */
export const OWNER_BYTES_MAX = 255;
/** The principal is a str8 in PUT and PATCH payloads (format v3); empty = none. */
export const PRINCIPAL_BYTES_MAX = 255;

// ---- sealed fields (docs/format.md §3.7) ----
/** A key ID is 1 to this many bytes of [A-Za-z0-9._-]. */
export const KEY_ID_BYTES_MAX = 64;
export const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
/** AES-256: a key is 32 bytes. */
export const SEAL_KEY_BYTES = 32;
export const SEAL_NONCE_BYTES = 12;
export const SEAL_TAG_BYTES = 16;
