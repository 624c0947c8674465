import { resolveOptions, type EngineOptions, type EngineOptionsInput } from '../options.js';
import { startInterval, type Clock } from '../clock.js';
import { SessiondError } from '../errors.js';
import type { LogWriter } from '../log/log-writer.js';
import type { SessionDatabase } from './session-database.js';
import { OperationLatency } from './operation-latency.js';
import type { Flusher } from './flusher.js';
import type { RecoveryReport } from './recovery.js';
import type { SessionCache } from './session-cache.js';
import { SessionQueue } from './session-queue.js';
import type { StoreLock } from './store-lock.js';
import type { Tombstones } from './tombstones.js';
import { ExpiryReaper } from './expiry-reaper.js';
import { CacheBound } from './cache-bound.js';
import { checkBoundedDatabase } from './bounded-reads.js';
import { BackgroundFold } from './background-fold.js';
import type { FoldBacklog } from './fold-backlog.js';
import { lockStoreDir, recoverStore, type RecoveredStore } from './engine-open.js';
import { createPipeline } from './engine-pipeline.js';
import { EngineStatus } from './engine-status.js';

/**
 * The running parts of an open store (SessionEngine): what recovery rebuilt, the write
 * pipeline started on it, and their shutdown. The engine's reads and writes
 * (session-reads.ts, session-writes.ts) share these.
 */
export interface EngineParts {
  readonly options: EngineOptions;
  /** The options' clock under a floor: "now" never goes back (docs/durability.md, clock jumps). */
  readonly clock: Clock;
  readonly recovery: RecoveryReport;
  readonly lock: StoreLock;
  readonly db: SessionDatabase;
  readonly cache: SessionCache;
  readonly tombstones: Tombstones;
  readonly queue: SessionQueue;
  /** Latency histograms per operation kind, always on (read by stats() and the admin port). */
  readonly latency: OperationLatency;
  readonly status: EngineStatus;
  /** The cache's memory bound; undefined when cacheBytesMax is 0 (every session loaded). */
  readonly bound: CacheBound | undefined;
  /** The fold recovery left to the flusher (background-fold.ts); undefined when it folded at the open. */
  readonly fold: BackgroundFold | undefined;
  readonly writer: LogWriter;
  readonly flusher: Flusher;
  /** Log bytes not yet folded into the database file, and the wait at flushBacklogBytesMax (fold-backlog.ts). */
  readonly backlog: FoldBacklog;
  readonly reaper: ExpiryReaper;
}

/** Locks and recovers the store in `input.dir`, then starts its pipeline; releases what it took if it fails. */
export async function openEngineParts(input: EngineOptionsInput): Promise<EngineParts> {
  const options = resolveOptions(input);
  const lock = await lockStoreDir(options);
  try {
    const r = await recoverStore(options);
    const parts = await startParts(options, lock, r).catch(async (e: unknown) => {
      await r.db.close().catch(() => undefined);
      throw e;
    });
    options.logger.info('store_recovered', { ...r.report, corruption: r.report.corruption.length, logs: undefined, db: undefined });
    return parts;
  } catch (e) {
    await lock.release();
    throw e;
  }
}

/** The parts on what recovery found, the flusher, the cache bound and the reaper running. */
async function startParts(options: EngineOptions, lock: StoreLock, r: RecoveredStore): Promise<EngineParts> {
  const { cache, clock, db } = r;
  const latency = new OperationLatency();
  const status = new EngineStatus(cache, options.logger);
  const bound = options.cacheBytesMax > 0 ? new CacheBound(cache, checkBoundedDatabase(db), options.cacheBytesMax, options.encryption) : undefined;
  const fold = r.fold === undefined ? undefined : new BackgroundFold(r.fold, cache, () => clock.now());
  const tombstones = r.carried;
  const onFatal = (err: SessiondError): void => status.setFatal(err);
  const p = await createPipeline({ options, clock, cache, db, latency, bound, fold, tombstones, nextLsn: r.nextLsn, generation: r.generation, onFatal });
  p.flusher.start();
  if (fold?.log !== undefined) p.flusher.onSwap(fold.log.index, fold.log.lastLsn); // folds it now
  bound?.schedule();
  const reaper = new ExpiryReaper(cache, tombstones, () => clock.now(), options.expiryIntervalMs, options.expiryScanMax, (fn, ms) => startInterval(clock, fn, ms));
  reaper.start();
  const queue = new SessionQueue(options);
  return { options, clock, recovery: r.report, lock, db, cache, tombstones, queue, latency, status, bound, fold, ...p, reaper };
}

/** Stops every timer, flushes unless read-only, and releases every handle (SessionEngine.close). */
export async function closeEngineParts(p: EngineParts): Promise<void> {
  p.status.closed = true;
  p.queue.rejectAll(new SessiondError('SESSIOND_CLOSED'));
  p.reaper.stop();
  p.bound?.stop();
  p.flusher.stop();
  p.backlog.releaseAll(); // they meet SESSIOND_CLOSED
  try {
    if (p.status.fatal === undefined) {
      await p.writer.drain();
      await p.flusher.flush();
    }
  } finally {
    await p.writer.close().catch(() => undefined);
    await p.db.close().catch(() => undefined);
    await p.lock.release();
  }
}
