/**
 * The single log writer, with group commit: every record appended while the previous
 * group is being written (or within one event-loop turn) goes out in one writev at the
 * log's end, then one datasync. Under 'fsync' a group whose every predecessor is durable
 * is instead one writev through the log's O_DSYNC handle, durable when it returns (one
 * thread-pool trip, not two). One write or sync is in flight at a time; a failed one (an
 * O_DSYNC write included: it is a failed fsync) is fatal and never retried (after a failed
 * fsync the page cache cannot be trusted).
 *
 * A lazy record (append's `lazy`: a touch the adapters answer once appended) asks for no
 * datasync of its own under 'fsync': a group of lazy records only is written and becomes
 * durable with the next datasync of its log (the next group with a record that waits for
 * one, drain(), the swap, or the fsyncIntervalMs timer), which resolves it first.
 *
 * This file is the writer's API (append, drain, sync, release, close); the loop that
 * writes, syncs, swaps and resets the logs is log-pump.ts.
 */

import { assert } from '../assert.js';
import { SessiondError, ioError } from '../errors.js';
import type { RecordType } from '../format/constants.js';
import { createLogFiles, type LogFile } from './log-file.js';
import { assertOptions, type LogAppend, type LogWriterOptions, type LogWriterStats } from './log-writer-options.js';
import { RecordCache } from './record-cache.js';
import { LogPump } from './log-pump.js';
import { recordBytes, type RecordData } from './record-codec.js';

export type { Durability, KeptLogFile, LogAppend, LogWriterOptions, LogWriterStats } from './log-writer-options.js';

export class LogWriter {
  private readonly opts: Readonly<LogWriterOptions>;
  private readonly cache: RecordCache;
  private readonly io: LogPump;
  private lsnNext: number;
  private closing: Promise<void> | undefined;
  private scheduled = false;

  /**
   * Resets both log files (their records must already be in the database) and opens the
   * writer; with `keep`, that one is left as it is, waiting for release(), and the other is active.
   */
  static async create(opts: LogWriterOptions): Promise<LogWriter> {
    assertOptions(opts);
    const dsync = opts.durability === 'fsync' && opts.dsyncWrites !== false;
    const logs = await createLogFiles(opts.fs, opts.dir, opts.generation, opts.nextLsn, opts.clock.now(), opts.keep, dsync);
    const w = new LogWriter(opts, logs);
    if (opts.keep !== undefined) w.io.active = opts.keep.index === 0 ? 1 : 0;
    return w;
  }

  private constructor(opts: LogWriterOptions, logs: readonly [LogFile, LogFile]) {
    this.opts = Object.freeze({ ...opts });
    this.cache = new RecordCache(opts.groupCommitBytesMax);
    this.io = new LogPump(this.opts, logs, this.cache);
    this.lsnNext = opts.nextLsn;
  }

  /** Highest LSN acknowledged (durable per the durability level). */
  get durableLsn(): number {
    return this.io.lsnDurable;
  }

  get nextLsn(): number {
    return this.lsnNext;
  }

  get failed(): SessiondError | undefined {
    return this.io.fatal;
  }

  get activeLog(): number {
    return this.io.active;
  }

  /**
   * Assigns the LSN and copies (or encodes) the record into the record cache. `durable`
   * resolves once the record is durable per the durability level, in LSN order. An
   * encoder that throws appends nothing. `lazy`: the record asks for no datasync of its
   * own (see the top of this file); `durable` still resolves only once it is synced.
   */
  append(type: RecordType, data: RecordData, dbOffset: number, lazy = false): LogAppend {
    if (this.closing !== undefined) throw new SessiondError('SESSIOND_CLOSED', 'the log writer is closed');
    if (this.io.fatal !== undefined) throw this.io.fatal;
    const bytes = recordBytes(data.byteLength);
    const queued = this.cache.queuedBytes;
    if (queued + bytes > this.opts.writeQueueBytesMax) {
      throw new SessiondError(
        'SESSIOND_OVERLOADED',
        `${queued} bytes are waiting to be written; a ${bytes}-byte record would pass writeQueueBytesMax ${this.opts.writeQueueBytesMax}`,
        { queuedBytes: queued, recordBytes: bytes, writeQueueBytesMax: this.opts.writeQueueBytesMax },
      );
    }
    const lsn = this.lsnNext;
    const batch = this.cache.add(type, lsn, dbOffset, data);
    if (!lazy) batch.needsSync = true;
    this.lsnNext = lsn + 1;
    if (!this.io.pumping && !this.scheduled) {
      this.scheduled = true;
      // The rest of this event-loop turn joins the group.
      setImmediate(this.onTurnEnd);
    }
    return { lsn, durable: batch.durable };
  }

  /** LSN of the last record written to a log since its reset (0: none). */
  lastLsnOf(logIndex: number): number {
    return this.log(logIndex).lastLsn;
  }

  /**
   * Makes every record written so far durable, in both logs. A no-op under 'fsync', where
   * every acknowledged record already is. Under 'interval' and 'none' the flusher calls it
   * before each database batch: the file must never hold a change whose predecessor in
   * the log a power loss could still take (a hole).
   */
  syncWritten(): Promise<void> {
    if (this.opts.durability === 'fsync') return Promise.resolve();
    if (this.io.fatal !== undefined) return Promise.reject(this.io.fatal);
    return new Promise((resolve, reject) => {
      this.io.syncWaiters.push({ resolve, reject });
      this.io.start();
    });
  }

  isReleased(logIndex: number): boolean {
    return this.log(logIndex).released;
  }

  /**
   * Resets a log whose every record is durable in the database, so it can take over when
   * the active log is due to swap. A failure is fatal, like any failed log write.
   */
  release(logIndex: number): Promise<void> {
    const log = this.log(logIndex);
    if (log.releasing !== undefined) return log.releasing;
    if (this.closing !== undefined) return Promise.reject(new SessiondError('SESSIOND_CLOSED', 'the log writer is closed'));
    if (this.io.fatal !== undefined) return Promise.reject(this.io.fatal);
    if (log.records === 0) return Promise.resolve();
    assert(logIndex !== this.io.active, `release of the active log ${logIndex}`);
    const done = this.io.resetLog(log).finally(() => {
      log.releasing = undefined;
    });
    log.releasing = done;
    // The failure also reaches onFatal: a caller that drops this promise must not crash the process.
    void done.catch(() => undefined);
    return done;
  }

  /**
   * Resolves when everything appended so far is durable; rejects with the fatal error.
   * Lazy groups are synced now rather than when their timer fires.
   */
  drain(): Promise<void> {
    if (this.io.fatal !== undefined) return Promise.reject(this.io.fatal);
    const last = this.cache.newest ?? this.io.inFlight ?? this.io.unsynced[this.io.unsynced.length - 1];
    if (last === undefined) return Promise.resolve();
    if (!last.needsSync) {
      last.needsSync = true; // a queued or in-flight group then syncs after its write
      if (last === this.io.unsynced[this.io.unsynced.length - 1]) {
        this.io.syncWanted = true;
        this.io.start();
      }
    }
    return last.durable;
  }

  /**
   * Resolves once everything appended so far is fdatasynced, whatever the durability
   * level: a destroy is acknowledged only then (docs/durability.md). Rejects with the fatal error.
   */
  async sync(): Promise<void> {
    await this.drain();
    await this.syncWritten();
  }

  stats(): LogWriterStats {
    return {
      activeLog: this.io.active,
      logBytes: [this.io.logs[0].size, this.io.logs[1].size],
      queuedBytes: this.cache.queuedBytes,
      queuedRecords: this.cache.queuedRecords,
      groups: this.io.groups,
      records: this.io.records,
      syncs: this.io.syncs,
    };
  }

  /** Drains, syncs what 'interval' has not yet, stops the timer, closes the files. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    // A fatal error was already reported to onFatal and to every appender.
    await this.drain().catch(() => undefined);
    await this.io.done;
    const log = this.io.logs[this.io.active];
    if (this.opts.durability === 'interval' && this.io.fatal === undefined && log.size > log.durableSize) {
      this.io.syncWanted = true;
      this.io.start();
      await this.io.done;
    }
    this.io.stopTimer();
    await Promise.allSettled(this.io.logs.map((l) => l.releasing));
    const closed = await Promise.allSettled(this.io.logs.map((l) => l.close()));
    const i = closed.findIndex((r) => r.status === 'rejected');
    if (i >= 0 && this.io.fatal === undefined) throw ioError('close', this.io.logs[i]!.path, (closed[i] as PromiseRejectedResult).reason);
  }

  private readonly onTurnEnd = (): void => {
    this.scheduled = false;
    this.io.start();
  };

  private log(logIndex: number): LogFile {
    assert(logIndex === 0 || logIndex === 1, `log index ${logIndex}`);
    return this.io.logs[logIndex];
  }
}
