import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { SessiondError, ioError } from '../errors.js';
import {
  TOMBSTONE_FILE,
  TOMBSTONE_FILE_MAGIC,
  TOMBSTONE_FILE_NAME,
  TOMBSTONE_FILE_NEW_SUFFIX,
  TOMBSTONE_FILE_OVERHEAD_BYTES,
  TOMBSTONE_FILE_VERSION,
} from '../format/constants.js';
import { readU32, readU64, writeU32, writeU64 } from '../format/bytes.js';
import type { FileSystem } from '../fs/file-system.js';
import type { EngineOptions } from '../options.js';
import { Tombstones } from './tombstones.js';

/**
 * The tombstone file (docs/format.md §5): the destroyed IDs still refusing saves, carried
 * out of a log before that log is reset, so a restart within `tombstoneMs` still refuses
 * a late save. Replaced whole and atomically (write `.new`, fdatasync, rename, fsync the
 * directory): a crash leaves the old file or the new one, never a mix.
 */

export interface TombstoneFileContent {
  /** The engine's clock when written: recovery's clock floor starts at or above it. */
  savedAtMs: number;
  /** [id, destroyedAtMs], oldest first. */
  entries: Array<[string, number]>;
}

const ENTRY_FIXED_BYTES = 2 + 8;

export function encodeTombstoneFile(content: TombstoneFileContent): Buffer {
  const ids = content.entries.map(([id]) => Buffer.from(id, 'utf8'));
  const bytes = TOMBSTONE_FILE_OVERHEAD_BYTES + ids.reduce((n, b) => n + ENTRY_FIXED_BYTES + b.length, 0);
  const buf = Buffer.alloc(bytes);
  buf.write(TOMBSTONE_FILE_MAGIC, TOMBSTONE_FILE.magic, 'latin1');
  writeU32(buf, TOMBSTONE_FILE.formatVersion, TOMBSTONE_FILE_VERSION);
  writeU32(buf, TOMBSTONE_FILE.count, ids.length);
  writeU64(buf, TOMBSTONE_FILE.savedAtMs, content.savedAtMs);
  let pos = TOMBSTONE_FILE.entries;
  content.entries.forEach(([, atMs], i) => {
    const id = ids[i]!;
    buf.writeUInt16LE(id.length, pos);
    id.copy(buf, pos + 2);
    writeU64(buf, pos + 2 + id.length, atMs);
    pos += ENTRY_FIXED_BYTES + id.length;
  });
  writeU32(buf, pos, crc32(buf.subarray(0, pos)));
  return buf;
}

/** Decodes the file; throws SESSIOND_TOMBSTONES_CORRUPT naming the first bad byte. */
export function decodeTombstoneFile(buf: Uint8Array, file: string): TombstoneFileContent {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const bad = (offset: number, detail: string): SessiondError =>
    new SessiondError('SESSIOND_TOMBSTONES_CORRUPT', `${file} at byte ${offset}: ${detail}`, { file, offset });
  if (b.length < TOMBSTONE_FILE_OVERHEAD_BYTES) throw bad(0, `${b.length} bytes, shorter than the header`);
  if (b.toString('latin1', 0, 8) !== TOMBSTONE_FILE_MAGIC) throw bad(TOMBSTONE_FILE.magic, 'bad magic');
  const crcAt = b.length - 4;
  if (readU32(b, crcAt) !== crc32(b.subarray(0, crcAt))) throw bad(crcAt, 'bad crc');
  const version = readU32(b, TOMBSTONE_FILE.formatVersion);
  if (version !== TOMBSTONE_FILE_VERSION) {
    throw new SessiondError('SESSIOND_FORMAT_UNSUPPORTED', `${file}: format version ${version}`, { file, version });
  }
  const count = readU32(b, TOMBSTONE_FILE.count);
  const savedAtMs = readU64(b, TOMBSTONE_FILE.savedAtMs);
  if (savedAtMs < 0) throw bad(TOMBSTONE_FILE.savedAtMs, 'savedAtMs above 2^53');
  const entries: Array<[string, number]> = [];
  let pos = TOMBSTONE_FILE.entries;
  for (let i = 0; i < count; i++) {
    if (pos + ENTRY_FIXED_BYTES > crcAt) throw bad(pos, `entry ${i} of ${count} runs past the end`);
    const idBytes = b.readUInt16LE(pos);
    if (idBytes === 0 || pos + ENTRY_FIXED_BYTES + idBytes > crcAt) throw bad(pos, `entry ${i}: bad id length ${idBytes}`);
    const atMs = readU64(b, pos + 2 + idBytes);
    if (atMs < 0) throw bad(pos + 2 + idBytes, 'destroyedAtMs above 2^53');
    entries.push([b.toString('utf8', pos + 2, pos + 2 + idBytes), atMs]);
    pos += ENTRY_FIXED_BYTES + idBytes;
  }
  if (pos !== crcAt) throw bad(pos, `${crcAt - pos} bytes after the last entry`);
  return { savedAtMs, entries };
}

/** The file's content, or undefined when the store has none. */
export async function readTombstoneFile(fs: FileSystem, dir: string): Promise<TombstoneFileContent | undefined> {
  const path = join(dir, TOMBSTONE_FILE_NAME);
  let buf: Uint8Array;
  try {
    const st = await fs.stat(path);
    if (st === undefined) return undefined;
    const fh = await fs.open(path, 'r');
    try {
      buf = new Uint8Array(st.size);
      let n = 0;
      while (n < st.size) {
        const got = await fh.read(buf, n, st.size - n, n);
        if (got === 0) break;
        n += got;
      }
      buf = buf.subarray(0, n);
    } finally {
      await fh.close().catch(() => undefined);
    }
  } catch (e) {
    throw ioError('read', path, e);
  }
  return decodeTombstoneFile(buf, path);
}

/** Replaces the file atomically; resolves once the new one is durable. */
export async function writeTombstoneFile(fs: FileSystem, dir: string, content: TombstoneFileContent): Promise<void> {
  const path = join(dir, TOMBSTONE_FILE_NAME);
  const tmp = path + TOMBSTONE_FILE_NEW_SUFFIX;
  const bytes = encodeTombstoneFile(content);
  const step = async (op: string, file: string, f: () => Promise<unknown>): Promise<void> => {
    try {
      await f();
    } catch (e) {
      throw ioError(op, file, e);
    }
  };
  const fh = await fs.open(tmp, 'create').catch((e: unknown) => {
    throw ioError('create', tmp, e);
  });
  try {
    await step('truncate', tmp, () => fh.truncate(0));
    await step('writev', tmp, () => fh.writev([bytes], 0));
    await step('datasync', tmp, () => fh.datasync());
  } finally {
    await fh.close().catch(() => undefined);
  }
  await step('rename', tmp, () => fs.rename(tmp, path));
  await step('syncDir', dir, () => fs.syncDir(dir));
}

/** The tombstone file, or undefined; a damaged one is refused unless `salvage` (then ignored and logged). */
export async function readTombstones(options: EngineOptions): Promise<TombstoneFileContent | undefined> {
  try {
    return await readTombstoneFile(options.fs, options.dir);
  } catch (e) {
    if (!options.salvage || !(e instanceof SessiondError) || e.code !== 'SESSIOND_TOMBSTONES_CORRUPT') throw e;
    options.logger.warn('tombstones_dropped', { ...e.context });
    return undefined;
  }
}

/**
 * Tombstones from the file and from the logs' TOMBSTONE records. The logs are reset next
 * (LogWriter.create), so any live tombstone only they hold goes into the file first.
 * A recovered session wins over a tombstone of its ID: it was saved after the destroy
 * (the tombstone had been forgotten, past `tombstonesMax`, or `tombstoneMs` grew since).
 */
export async function carryTombstones(
  options: EngineOptions,
  now: number,
  saved: TombstoneFileContent | undefined,
  fromLogs: Map<string, number>,
  sessions: { has(id: string): boolean },
): Promise<Tombstones> {
  const t = new Tombstones(options.tombstoneMs, options.tombstonesMax);
  const all = new Map(saved?.entries ?? []);
  for (const [id, at] of fromLogs) all.set(id, Math.max(at, all.get(id) ?? 0));
  for (const [id, at] of [...all].sort((a, b) => a[1] - b[1])) {
    if (!sessions.has(id)) t.restore(id, at, now);
  }
  if ([...fromLogs.values()].some((at) => t.enabled && at + options.tombstoneMs > now)) {
    await writeTombstoneFile(options.fs, options.dir, { savedAtMs: now, entries: [...t.durable(now)] });
  }
  return t;
}
