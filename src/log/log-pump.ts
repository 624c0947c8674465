import { performance } from 'node:perf_hooks';
import { assert } from '../assert.js';
import { startInterval } from '../clock.js';
import type { SessiondError } from '../errors.js';
import { randomSalt, type IoStep, type LogFile } from './log-file.js';
import type { LogWriterOptions } from './log-writer-options.js';
import type { RecordBatch } from './record-batch.js';
import type { RecordCache } from './record-cache.js';
import { notify, readOnlyError } from './log-writer-support.js';
import { sealRecord } from './record-codec.js';

/** A caller of LogWriter.syncWritten() waiting for the pump's next sync of both logs. */
export interface SyncWaiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * The log writer's one I/O loop (log-writer.ts, whose top comment tells the protocol): it
 * takes the record cache's groups and writes each to the active log, datasyncs, swaps the
 * logs and resets a released one. One write or sync is in flight at a time; the first
 * failure is fatal (never retried) and rejects everything waiting.
 */
export class LogPump {
  active: 0 | 1 = 0;
  /** Highest LSN acknowledged (durable per the durability level). */
  lsnDurable: number;
  /** Highest LSN known fdatasynced (with every record before it): a reset log's firstLsn vouches for these. */
  lsnSynced: number;
  fatal: SessiondError | undefined;
  /** A datasync of the active log is asked for (the timer, drain(), close()). */
  syncWanted = false;
  /** Callers of syncWritten() waiting for the pump's next sync of both logs. */
  readonly syncWaiters: SyncWaiter[] = [];
  /** The running loop (resolved when none runs). */
  done: Promise<void> = Promise.resolve();
  inFlight: RecordBatch | undefined;
  /** Lazy groups written to the active log and not yet datasynced ('fsync' only), oldest first. */
  unsynced: RecordBatch[] = [];
  groups = 0;
  records = 0;
  syncs = 0;
  private running = false;
  private stopSyncTimer: (() => void) | undefined;

  constructor(
    private readonly opts: Readonly<LogWriterOptions>,
    readonly logs: readonly [LogFile, LogFile],
    private readonly cache: RecordCache,
  ) {
    this.lsnDurable = opts.nextLsn - 1;
    this.lsnSynced = opts.nextLsn - 1;
    // Under 'fsync' the timer only syncs lazy groups (onSyncTick).
    if (opts.durability !== 'none') {
      this.stopSyncTimer = startInterval(opts.clock, this.onSyncTick, opts.fsyncIntervalMs);
    }
  }

  /** True while the loop runs: a record appended now joins a later group without asking. */
  get pumping(): boolean {
    return this.running;
  }

  private readonly onSyncTick = (): void => {
    const log = this.logs[this.active];
    // Under 'fsync' only lazy groups are left unsynced; a group between its write and its
    // own datasync is synced once, the pump finding nothing new for the timer's request.
    if (log.size === log.durableSize) return;
    this.syncWanted = true;
    this.start();
  };

  /** Runs the loop unless it runs already or a failure stopped the writer. */
  start(): void {
    if (this.running || this.fatal !== undefined) return;
    this.running = true;
    this.done = this.pump();
  }

  /** The one loop that writes and syncs the log; ends when there is nothing to do. Never rejects on I/O errors. */
  private async pump(): Promise<void> {
    try {
      while (this.fatal === undefined) {
        if (this.syncWaiters.length > 0) {
          await this.syncBoth(this.syncWaiters.splice(0));
          continue;
        }
        if (this.syncWanted) {
          this.syncWanted = false;
          const log = this.logs[this.active];
          // Under 'fsync' a tick that came while the previous sync ran finds nothing new: no
          // second sync. (Skipping it under 'interval' too made crash-sim-evict hang after
          // the rebase onto 438c048, not understood yet: 'interval' keeps main's behaviour.)
          if (this.opts.durability !== 'fsync' || log.size > log.durableSize) await this.syncLog(log);
          continue;
        }
        const batch = this.cache.take();
        if (batch === undefined) break;
        this.inFlight = batch;
        if (await this.maybeSwap()) await this.writeGroup(batch);
        this.inFlight = undefined;
      }
    } finally {
      this.running = false;
    }
  }

  /** Switches to the other log when the active one is due and the other is released. false on a fatal error. */
  private async maybeSwap(): Promise<boolean> {
    const from = this.logs[this.active];
    const to = this.logs[1 - this.active]!;
    if (from.records === 0 || !to.released) return true;
    const { logSwapBytes, logSwapMs, clock } = this.opts;
    if (from.size < logSwapBytes && clock.now() - from.firstRecordAtMs < logSwapMs) return true;
    // The old log must be durable before any record of the new one can be: else a power
    // loss could keep a record of the new log and lose an earlier one of the old (a hole,
    // which no reader can see, as the old log's lost tail looks torn). Under 'interval'
    // this also bounds the loss window, as the timer only syncs the active log. Recovery
    // would otherwise find an LSN gap at the swap and refuse the open as corrupt. Under
    // 'fsync' only lazy groups can be unsynced; this sync makes them durable.
    if (from.size > from.durableSize && !(await this.syncLog(from))) return false;
    // Readers order the logs by generation: the next log must be the newer one.
    assert(to.generation > from.generation, `swap to generation ${to.generation} from ${from.generation}`);
    this.active = to.index;
    notify(this.opts.onSwap, { fromLog: from.index, lastLsn: from.lastLsn });
    return true;
  }

  private async writeGroup(batch: RecordBatch): Promise<void> {
    const log = this.logs[this.active];
    for (let at = 0; at < batch.used; ) at += sealRecord(batch.buf, at, log.generation, log.durableSize, log.salt);
    if (log.records === 0) log.firstRecordAtMs = this.opts.clock.now();
    const { records, used: bytes, lastLsn } = batch;
    // One trip: an O_DSYNC write of a group that waits for its sync, when every byte before
    // it is durable (an O_DSYNC write syncs its own range only, not lazy groups before it).
    const fh = batch.needsSync && log.size === log.durableSize ? log.dsyncFh : undefined;
    const t0 = performance.now();
    if (!(await this.tryIo('writev', log.path, () => (fh ?? log.fh).writev([batch.bytes()], log.size)))) return;
    if (fh !== undefined) return this.dsyncWritten(log, batch, performance.now() - t0);
    log.size += bytes;
    log.records += records;
    log.lastLsn = lastLsn;
    this.cache.written(batch);
    const t1 = performance.now();
    this.groups++;
    this.records += records;
    // Read after the write: drain() may have asked for this group's sync meanwhile.
    if (this.opts.durability === 'fsync' && !batch.needsSync) {
      this.unsynced.push(batch); // resolved by the next datasync of this log (syncLog)
      notify(this.opts.onGroup, { records, bytes, writeMs: t1 - t0, syncMs: 0, lazy: true });
      return;
    }
    if (this.opts.durability === 'fsync' && !(await this.syncLog(log))) return;
    const t2 = performance.now();
    this.lsnDurable = lastLsn;
    batch.resolve();
    notify(this.opts.onGroup, { records, bytes, writeMs: t1 - t0, syncMs: t2 - t1, lazy: false });
  }

  /** A group's O_DSYNC write returned: it is durable, as after writev + datasync. */
  private dsyncWritten(log: LogFile, batch: RecordBatch, ms: number): void {
    assert(this.unsynced.length === 0, 'an O_DSYNC write behind unsynced lazy groups');
    const { records, used: bytes, lastLsn } = batch;
    log.size += bytes;
    log.durableSize = log.size;
    log.records += records;
    log.lastLsn = lastLsn;
    this.cache.written(batch);
    this.groups++;
    this.records += records;
    this.syncs++;
    this.lsnSynced = Math.max(this.lsnSynced, lastLsn);
    this.lsnDurable = lastLsn;
    batch.resolve();
    notify(this.opts.onGroup, { records, bytes, writeMs: 0, syncMs: ms, lazy: false });
  }

  /** syncWritten()'s sync: each log with unsynced records (one being reset holds none the database needs). */
  private async syncBoth(waiters: SyncWaiter[]): Promise<void> {
    for (const log of this.logs) {
      if (log.size > log.durableSize && log.releasing === undefined && !(await this.syncLog(log))) break;
    }
    for (const w of waiters) {
      if (this.fatal === undefined) w.resolve();
      else w.reject(this.fatal);
    }
  }

  private async syncLog(log: LogFile): Promise<boolean> {
    const size = log.size;
    // Older logs were synced at their swap, so this sync makes every record up to here durable.
    const lastLsn = log.lastLsn;
    if (!(await this.tryIo('datasync', log.path, () => log.fh.datasync()))) return false;
    log.durableSize = size;
    this.lsnSynced = Math.max(this.lsnSynced, lastLsn);
    this.syncs++;
    // Lazy groups are in the active log (a swap syncs them first), before anything this sync covers.
    if (log === this.logs[this.active]) this.settleUnsynced();
    return true;
  }

  /** The lazy groups written so far are durable: resolved in LSN order, before any later group. */
  private settleUnsynced(): void {
    if (this.unsynced.length === 0) return;
    const done = this.unsynced.splice(0);
    this.lsnDurable = done[done.length - 1]!.lastLsn;
    for (const b of done) b.resolve();
  }

  async resetLog(log: LogFile): Promise<void> {
    const io: IoStep = async (op, file, f) => {
      if (!(await this.tryIo(op, file, f))) throw this.fatal;
    };
    const generation = Math.max(this.logs[0].generation, this.logs[1].generation) + 1;
    // firstLsn vouches that every record below it is durable in the other log or the
    // database (recovery checks it). It is also below every record this log will get.
    const header = { generation, firstLsn: this.lsnSynced + 1, salt: randomSalt(), createdAtMs: this.opts.clock.now() };
    await log.reset(header, io);
    await io('syncDir', this.opts.dir, () => this.opts.fs.syncDir(this.opts.dir));
  }

  /** Runs one I/O step; a failure makes the writer read-only. Nothing starts after a failure. */
  private async tryIo(op: string, file: string, f: () => Promise<unknown>): Promise<boolean> {
    if (this.fatal !== undefined) return false;
    try {
      await f();
      return true;
    } catch (e) {
      this.fail(op, file, e);
      return false;
    }
  }

  private fail(op: string, file: string, cause: unknown): void {
    if (this.fatal !== undefined) return;
    this.fatal = readOnlyError(op, file, cause);
    this.stopTimer();
    this.inFlight?.reject(this.fatal);
    this.inFlight = undefined;
    for (const b of this.unsynced.splice(0)) b.reject(this.fatal);
    this.cache.failAll(this.fatal);
    for (const w of this.syncWaiters.splice(0)) w.reject(this.fatal);
    notify(this.opts.onFatal, this.fatal);
  }

  stopTimer(): void {
    this.stopSyncTimer?.();
    this.stopSyncTimer = undefined;
  }
}
