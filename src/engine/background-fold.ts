import { assert } from '../assert.js';
import { LOG_FILE_NAMES } from '../format/constants.js';
import type { LogReadResult } from '../log/log-reader.js';
import type { KeptLogFile } from '../log/log-writer-options.js';
import type { SessionDatabase } from './session-database.js';
import { writeSessions, type SessionToWrite } from './write-sessions.js';
import type { Encryption } from '../session/attr-seal.js';
import type { SessionCache } from './session-cache.js';

/**
 * Serving while recovering (issue 8): recovery replays the logs into the cache, then leaves
 * the fold of what it replayed to the flusher instead of writing every replayed session into
 * the database file before the open returns. The newest log holding records above the
 * file's appliedLsn is kept as it is, like a log the writer swapped out (LogWriter.create's
 * `keep`); the flusher folds the replayed sessions in its bounded slices and releases the
 * log once the file holds all of it. A crash before then leaves the state of a running store
 * with a swapped log not yet released, which recovery already handles: the kept log is read
 * again. If the older log holds records above appliedLsn too, the sessions its records
 * touched are folded before the open returns, so that log can be reset (the writer has two).
 */

/** A log recovery leaves in place for the flusher to release (LogWriter.create's `keep`). */
export type KeptLog = KeptLogFile;

/** What the open hands the engine: the kept log and the sessions to fold before it is released. */
export interface DeferredFold {
  log: KeptLog;
  /** Sessions recovery replayed (or expired) and did not write: marked dirty for the flusher. */
  sessions: Iterable<string>;
  count: number;
}

export interface ReadLog {
  result: LogReadResult;
  /** replayer.touched.size once this log was read: its first entries are this log's sessions. */
  touchedAfter: number;
}

/**
 * Whether recovery may leave the fold to the flusher, and the log it keeps; undefined: fold
 * everything now (the usual path for a clean shutdown, damage, salvage or v2 logs). When two
 * logs hold unfolded records, the older one's sessions are written here first.
 */
export async function deferFold(
  db: SessionDatabase,
  logs: readonly ReadLog[],
  touched: ReadonlySet<string>,
  lookup: (id: string) => SessionToWrite,
  nextLsn: number,
  batchBytesMax: number,
  encryption: Encryption | undefined,
): Promise<DeferredFold | undefined> {
  const clean = logs.every(({ result: r }) => r.corruption.length === 0 && r.folded.length === 0 && !r.headerRepaired && (r.header === undefined || r.header.formatVersion !== 2));
  const unfolded = logs.filter(({ result: r }) => r.records > 0 && r.lastLsn > db.appliedLsn);
  if (!clean || unfolded.length === 0 || unfolded.length > 2) return undefined;
  const newest = unfolded[unfolded.length - 1]!;
  // The new log starts right after the kept one's last record: no LSN gap for the next open to refuse.
  if (newest.result.lastLsn !== nextLsn - 1 || newest.result.header === undefined) return undefined;
  const index = LOG_FILE_NAMES.findIndex((n) => newest.result.path.endsWith(n));
  if (index !== 0 && index !== 1) return undefined;
  let skip = 0;
  if (unfolded.length === 2) {
    const older = unfolded[0]!;
    skip = older.touchedAfter;
    await writeSessions(db, firstOf(touched, skip), lookup, older.result.lastLsn, batchBytesMax, undefined, encryption);
    // Invariant: the older log is folded, so the writer may reset it.
    assert(db.appliedLsn >= older.result.lastLsn, `older log folded only to ${db.appliedLsn}, below its last lsn ${older.result.lastLsn}`);
  }
  const log: KeptLog = { index, generation: newest.result.header.generation, bytes: newest.result.endOffset, lastLsn: newest.result.lastLsn, records: newest.result.records };
  return { log, sessions: afterFirst(touched, skip), count: touched.size - skip };
}

function* firstOf(ids: Iterable<string>, n: number): Generator<string> {
  if (n <= 0) return;
  let i = 0;
  for (const id of ids) {
    yield id;
    if (++i >= n) return;
  }
}

function* afterFirst(ids: Iterable<string>, n: number): Generator<string> {
  let i = 0;
  for (const id of ids) if (i++ >= n) yield id;
}

/**
 * The engine's side: marks the sessions dirty, tells the flusher the kept log waits for it,
 * and says whether the fold is still running (stats' `recovering`).
 */
export class BackgroundFold {
  private pending: KeptLog | undefined;
  readonly sessions: number;
  private readonly startedAtMs: number;
  /** How long the fold took (0 while it runs). */
  foldMs = 0;

  constructor(
    fold: DeferredFold,
    cache: SessionCache,
    private readonly now: () => number,
  ) {
    this.pending = fold.log;
    this.sessions = fold.count;
    this.startedAtMs = now();
    for (const id of fold.sessions) cache.markDirty(id, this.startedAtMs);
  }

  /** The kept log, for the flusher to release once the file holds it (Flusher.onSwap). */
  get log(): KeptLog | undefined {
    return this.pending;
  }

  /** True until the kept log is released: the database file does not hold everything yet. */
  get recovering(): boolean {
    return this.pending !== undefined;
  }

  /** A log was released: if it is the kept one, the fold is done. */
  released(index: number): void {
    if (this.pending?.index !== index) return;
    this.pending = undefined;
    this.foldMs = this.now() - this.startedAtMs;
  }
}
