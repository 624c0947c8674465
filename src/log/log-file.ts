/**
 * One of the two log files as the writer sees it: its open handle, the header of its
 * current generation, and how far it is written and synced.
 */

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ioError } from '../errors.js';
import { LOG_FILE_NAMES, LOG_HEADER_BYTES } from '../format/constants.js';
import type { FileHandle, FileSystem } from '../fs/file-system.js';
import { encodeLogHeader, type LogHeader } from './log-header.js';
import type { KeptLogFile } from './log-writer-options.js';

/** Runs one I/O step, throwing the caller's error type when it fails. */
export type IoStep = (op: string, file: string, f: () => Promise<unknown>) => Promise<void>;

export class LogFile {
  generation = 0;
  salt = 0;
  /** Bytes written (the offset of the next group). */
  size = 0;
  /** Bytes known durable: what every record of the next group states as syncedBytes. */
  durableSize = 0;
  /** Records written since the last reset: the database flush still needs them. */
  records = 0;
  lastLsn = 0;
  /** When the first record since the reset was written (drives logSwapMs). */
  firstRecordAtMs = 0;
  /** Set while release() resets this log. */
  releasing: Promise<void> | undefined;

  constructor(
    readonly index: 0 | 1,
    readonly fh: FileHandle,
    /**
     * A second handle on the file opened O_DSYNC (durability 'fsync'): a group written through
     * it when nothing before it is unsynced is durable when the write returns, one trip
     * through the thread pool instead of writev + fdatasync. Undefined: every group is synced
     * by datasync (other durability levels, or a layer without O_DSYNC).
     */
    readonly dsyncFh?: FileHandle,
  ) {}

  get path(): string {
    return this.fh.path;
  }

  /** Holds no record the database flush still needs: it may become the active log. */
  get released(): boolean {
    return this.records === 0 && this.releasing === undefined;
  }

  /** Closes its handles; the first failure is thrown once both were tried. */
  async close(): Promise<void> {
    const closed = await Promise.allSettled([this.fh.close(), this.dsyncFh?.close()]);
    for (const r of closed) if (r.status === 'rejected') throw r.reason;
  }

  /**
   * Takes a log recovery keeps (its records not yet in the database) as it is: it is never
   * appended to before release() resets it, so nothing more about its records is needed.
   */
  keep(k: KeptLogFile): void {
    this.generation = k.generation;
    this.size = k.bytes;
    this.durableSize = k.bytes;
    this.records = k.records;
    this.lastLsn = k.lastLsn;
  }

  /**
   * Resets the file to a new generation (docs/format.md §1.1) in two durable steps:
   * truncate + datasync, then header + datasync. A crash can then leave an empty file or
   * one sector, never a bad header in front of old records, so a reader may take "bad
   * header followed by data" for damage. The caller fsyncs the directory.
   */
  async reset(header: LogHeader, io: IoStep): Promise<void> {
    const bytes = encodeLogHeader(header);
    await io('truncate', this.path, () => this.fh.truncate(0));
    await io('datasync', this.path, () => this.fh.datasync());
    await io('writev', this.path, () => this.fh.writev([bytes], 0));
    await io('datasync', this.path, () => this.fh.datasync());
    this.generation = header.generation;
    this.salt = header.salt;
    this.size = LOG_HEADER_BYTES;
    this.durableSize = LOG_HEADER_BYTES;
    this.records = 0;
    this.lastLsn = 0;
    this.firstRecordAtMs = 0;
  }
}

/** A fresh salt per generation, so no reader can take stored bytes for a record (format.md). */
export function randomSalt(): number {
  return randomBytes(4).readUInt32LE(0);
}

/**
 * Opens both log files and resets them (active: generation + 1, spare: generation + 2),
 * then fsyncs the directory. Their records must already be in the database, but those of
 * `keep`: that one is synced and left as it is, and the other reset to generation + 1.
 */
export async function createLogFiles(
  fs: FileSystem,
  dir: string,
  generation: number,
  firstLsn: number,
  nowMs: number,
  keep: KeptLogFile | undefined,
  dsync: boolean,
): Promise<[LogFile, LogFile]> {
  const io: IoStep = async (op, file, f) => {
    try {
      await f();
    } catch (e) {
      throw ioError(op, file, e);
    }
  };
  const logs: LogFile[] = [];
  try {
    for (const index of [0, 1] as const) {
      const path = join(dir, LOG_FILE_NAMES[index]);
      let fh: FileHandle | undefined;
      await io('open', path, async () => (fh = await fs.open(path, 'create')));
      let dsyncFh: FileHandle | undefined;
      if (dsync) {
        try {
          await io('open', path, async () => (dsyncFh = await fs.open(path, 'r+', { dsync: true })));
        } catch (e) {
          await fh!.close().catch(() => undefined);
          throw e;
        }
        // A layer that did not take the flag (or a wrapper that dropped it): datasync it is.
        if (dsyncFh!.dsync !== true) await io('close', path, () => dsyncFh!.close());
      }
      logs.push(new LogFile(index, fh!, dsyncFh?.dsync === true ? dsyncFh : undefined));
    }
    if (keep !== undefined) {
      // Read after a process crash, its tail may be in the page cache only: durable before
      // the other log's header vouches (firstLsn) that every record below it is.
      const kept = logs[keep.index]!;
      await io('datasync', kept.path, () => kept.fh.datasync());
      kept.keep(keep);
    }
    for (const log of logs) {
      if (log.index === keep?.index) continue;
      // Beside a kept log the reset one is the newer (readers order the logs by generation).
      await log.reset({ generation: keep === undefined ? generation + 1 + log.index : generation + 1, firstLsn, salt: randomSalt(), createdAtMs: nowMs }, io);
    }
    await io('syncDir', dir, () => fs.syncDir(dir));
  } catch (e) {
    await Promise.allSettled(logs.map((l) => l.close()));
    throw e;
  }
  return [logs[0]!, logs[1]!];
}
