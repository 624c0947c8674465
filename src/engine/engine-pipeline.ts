import { assert } from '../assert.js';
import type { SessiondError } from '../errors.js';
import type { EngineOptions } from '../options.js';
import { startInterval, type Clock } from '../clock.js';
import type { SessionDatabase } from './session-database.js';
import { LogWriter } from '../log/log-writer.js';
import type { OperationLatency } from './operation-latency.js';
import { Flusher } from './flusher.js';
import type { SessionCache } from './session-cache.js';
import type { CacheBound } from './cache-bound.js';
import type { BackgroundFold } from './background-fold.js';
import { FoldBacklog } from './fold-backlog.js';
import type { Tombstones } from './tombstones.js';
import { writeTombstoneFile } from './tombstone-file.js';

/**
 * The write pipeline of a recovered store (SessionEngine.start): the log writer, the flusher
 * that moves the logged changes into the database file, the backlog bound between them, and
 * the release of a log the database file holds. Built here, started by the engine.
 */

export interface PipelineParts {
  options: EngineOptions;
  clock: Clock;
  cache: SessionCache;
  db: SessionDatabase;
  latency: OperationLatency;
  bound: CacheBound | undefined;
  fold: BackgroundFold | undefined;
  nextLsn: number;
  generation: number;
  /** A write or fsync failed (the engine turns read-only). */
  onFatal: (err: SessiondError) => void;
  tombstones: Tombstones;
}

export interface Pipeline {
  writer: LogWriter;
  flusher: Flusher;
  backlog: FoldBacklog;
}

/** Opens the log writer and builds the flusher and the backlog bound; nothing runs until the flusher starts. */
export async function createPipeline(p: PipelineParts): Promise<Pipeline> {
  const { options: o, clock, latency, fold } = p;
  // The writer's and the backlog's hooks name the flusher built below: they run after the open.
  const requestFlush = (): void => void flusher.flush().catch(() => {});
  const backlog = new FoldBacklog(o.flushBacklogBytesMax, requestFlush, fold?.log?.bytes ?? 0, o.flushBacklogBytesMin);
  // A bounded cache evicts only what the database file holds: over its bound with changed
  // sessions in the way, it asks for the cycle instead of waiting for the flusher's timer.
  if (p.bound !== undefined) p.bound.requestFlush = requestFlush;
  const writer = await LogWriter.create({
    fs: o.fs,
    dir: o.dir,
    clock,
    durability: o.durability,
    fsyncIntervalMs: o.fsyncIntervalMs,
    groupCommitBytesMax: o.groupCommitBytesMax,
    writeQueueBytesMax: o.writeQueueBytesMax,
    logSwapBytes: o.logSwapBytes,
    logSwapMs: o.logSwapMs,
    nextLsn: p.nextLsn,
    generation: p.generation,
    ...(fold?.log === undefined ? {} : { keep: fold.log }),
    onSwap: ({ fromLog, lastLsn }) => flusher.onSwap(fromLog, lastLsn),
    onFatal: p.onFatal,
    onGroup: ({ syncMs, records, lazy }) => {
      if (!lazy) latency.addMs('fsync', syncMs); // a lazy group's sync comes later, with another's
      latency.groupRecords.add(records);
    },
  });
  const flusher = new Flusher({
    cache: p.cache,
    db: p.db,
    now: () => clock.now(),
    every: (fn, ms) => startInterval(clock, fn, ms),
    flushIntervalMs: o.flushIntervalMs,
    flushBatchBytesMax: o.flushBatchBytesMax,
    flushSliceMsMax: o.flushSliceMsMax,
    syncLog: () => writer.syncWritten(),
    releaseLog: (i) => releaseLog(i),
    onFatal: p.onFatal,
    onCycle: (ms) => {
      latency.addMs('flush', ms);
      p.bound?.schedule(); // what the cycle wrote can leave the cache now
    },
    encryption: o.encryption,
    backlog,
  });
  // Tombstones.changes when the tombstone file was last written.
  let tombstoneChangesSaved = p.tombstones.changes;
  /**
   * Resets a log the database holds; first carries the tombstones destroyed since the last
   * carry into the tombstone file, since the log's TOMBSTONE records are about to go.
   */
  const releaseLog = async (i: number): Promise<void> => {
    // Invariant: a log is reset only once the database file holds all of it.
    assert(writer.lastLsnOf(i) <= p.db.appliedLsn, `release of log ${i} through lsn ${writer.lastLsnOf(i)} above appliedLsn ${p.db.appliedLsn}`);
    const changes = p.tombstones.changes;
    if (!writer.isReleased(i) && changes !== tombstoneChangesSaved) {
      const now = clock.now();
      await writeTombstoneFile(o.fs, o.dir, { savedAtMs: now, entries: [...p.tombstones.durable(now)] });
      tombstoneChangesSaved = changes;
    }
    await writer.release(i);
    fold?.released(i);
  };
  return { writer, flusher, backlog };
}
