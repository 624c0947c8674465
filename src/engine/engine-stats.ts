import type { DbStats } from '../db/db-types.js';
import type { SessionDatabase } from './session-database.js';
import type { SessiondError } from '../errors.js';
import type { LogWriter } from '../log/log-writer.js';
import type { Durability } from '../options.js';
import type { HistogramSummary } from '../util/log-histogram.js';
import type { OperationKind, OperationLatency } from './operation-latency.js';
import type { Flusher } from './flusher.js';
import type { RecoveryReport } from './recovery.js';
import { takeCensus, type Census } from './session-census.js';
import type { SessionCache } from './session-cache.js';
import type { SessionQueue } from './session-queue.js';
import type { Tombstones } from './tombstones.js';
import type { CacheBound } from './cache-bound.js';
import type { BackgroundFold } from './background-fold.js';
import type { FoldBacklog } from './fold-backlog.js';

/** Everything `stats()` and `sessiond stats` report (SPEC E9). */
export interface EngineStats {
  atMs: number;
  durability: Durability;
  sessions: Census & { pendingWrites: number };
  /** The loaded sessions against cacheBytesMax (docs/memory.md); cold ones are on disk only. */
  cache: { loaded: number; cold: number; bytes: number; bytesMax: number; loads: number; evictions: number };
  tombstones: number;
  queue: { sessionsHeld: number; requestsWaiting: number };
  log: ReturnType<LogWriter['stats']> & {
    fsyncMs: { samples: number; p50: number; p90: number; p99: number; max: number };
    /** Records per group commit. */
    groupRecords: HistogramSummary;
  };
  /** Latency of each operation kind, in milliseconds, since the store opened (issue 8). */
  latencyMs: Record<OperationKind, HistogramSummary>;
  db: DbStats;
  flush: {
    dirtySessions: number;
    /** Age of the oldest change not yet taken by the flusher. */
    lagMs: number;
    /** Log records acknowledged but not yet folded into the database file. */
    lsnLag: number;
    cycles: number;
    lastFlushAtMs: number;
    lastFlushMs: number;
    /** Log bytes not yet folded into the database file, against flushBacklogBytesMax (fold-backlog.ts). */
    backlogBytes: number;
    backlogBytesMax: number;
    /** Changes that waited for the flusher at flushBacklogBytesMax. */
    backlogStalls: number;
    sessionsWritten: number;
    sessionsFreed: number;
    imagesRewritten: number;
  };
  lastRecovery: RecoveryReport;
  /**
   * The fold of what the last open replayed, left to the flusher (background-fold.ts):
   * `active` until the database file holds all of it and its log is reset. Requests are
   * served meanwhile; sessions is how many the open handed over, foldMs how long it took.
   */
  recovering: { active: boolean; sessions: number; foldMs: number };
  readOnly: { code: string; reason: string } | undefined;
}

export interface StatsSources {
  now: number;
  cache: SessionCache;
  db: SessionDatabase;
  writer: LogWriter;
  flusher: Flusher;
  queue: SessionQueue;
  tombstones: Tombstones;
  latency: OperationLatency;
  recovery: RecoveryReport;
  readOnly: SessiondError | undefined;
  durability: Durability;
  bound?: CacheBound | undefined;
  fold?: BackgroundFold | undefined;
  backlog: FoldBacklog;
}

export async function buildStats(src: StatsSources): Promise<EngineStats> {
  const census = await takeCensus(src.cache.visible, src.now, src.cache.cold);
  const b = src.bound;
  const oldest = src.cache.oldestDirtyMs;
  const q = src.queue.counts();
  const latencyMs = src.latency.summaryMs();
  return {
    atMs: src.now,
    durability: src.durability,
    sessions: { ...census, pendingWrites: src.cache.pendingCount },
    cache: {
      loaded: src.cache.visible.size,
      cold: src.cache.cold.size,
      bytes: src.cache.visible.bytes,
      bytesMax: b?.cacheBytesMax ?? 0,
      loads: b?.loaded ?? 0,
      evictions: b?.evicted ?? 0,
    },
    tombstones: src.tombstones.size,
    queue: { sessionsHeld: q.held, requestsWaiting: q.waiting },
    log: { ...src.writer.stats(), fsyncMs: fsyncSummary(latencyMs.fsync), groupRecords: src.latency.groupRecords.summary() },
    latencyMs,
    db: src.db.stats(),
    flush: {
      dirtySessions: src.cache.dirtyCount,
      lagMs: oldest === 0 ? 0 : Math.max(0, src.now - oldest),
      lsnLag: Math.max(0, src.cache.appliedLsn - src.db.appliedLsn),
      backlogBytes: src.backlog.bytes,
      backlogBytesMax: src.backlog.bytesMax,
      backlogStalls: src.backlog.stalls,
      ...src.flusher.stats,
    },
    lastRecovery: src.recovery,
    recovering: { active: src.fold?.recovering ?? false, sessions: src.fold?.sessions ?? 0, foldMs: src.fold?.foldMs ?? 0 },
    readOnly: src.readOnly === undefined ? undefined : { code: src.readOnly.code, reason: src.readOnly.message },
  };
}

/** The fsync summary in the shape stats had before the histograms: `samples` is the count. */
function fsyncSummary(h: HistogramSummary): EngineStats['log']['fsyncMs'] {
  return { samples: h.count, p50: h.p50, p90: h.p90, p99: h.p99, max: h.max };
}
