/**
 * The log writer's options, handles and stats (log-writer.ts). Units are in the names;
 * the engine validates user options once, the writer asserts what it is given.
 */

import { assert } from '../assert.js';
import type { Clock } from '../clock.js';
import type { SessiondError } from '../errors.js';
import type { FileSystem } from '../fs/file-system.js';

export type Durability = 'fsync' | 'interval' | 'none';

export interface LogWriterOptions {
  fs: FileSystem;
  dir: string;
  clock: Clock;
  durability: Durability;
  fsyncIntervalMs: number;
  /**
   * Under 'fsync': write groups through an O_DSYNC handle when the layer has one, durable
   * when the write returns (one thread-pool trip, not writev + fdatasync). Default true.
   */
  dsyncWrites?: boolean;
  /** Cap on the bytes of one write group. */
  groupCommitBytesMax: number;
  /** append throws SESSIOND_OVERLOADED past this many queued (unwritten) bytes. */
  writeQueueBytesMax: number;
  logSwapBytes: number;
  logSwapMs: number;
  /** First LSN to hand out. */
  nextLsn: number;
  /** Highest generation seen anywhere; new ones go above it. */
  generation: number;
  /**
   * A log recovery left in place, its records not yet in the database (engine/background-fold.ts):
   * opened as it is, like a log swapped out and not yet released; the other is reset and active.
   */
  keep?: KeptLogFile;
  onSwap?: (info: { fromLog: number; lastLsn: number }) => void;
  onFatal?: (err: SessiondError) => void;
  /**
   * A group was written (and synced per the durability level), or, `lazy`, written and left
   * to a later datasync. An O_DSYNC write is its sync: writeMs 0, syncMs the write.
   */
  onGroup?: (info: { records: number; bytes: number; writeMs: number; syncMs: number; lazy: boolean }) => void;
}

/** A log file kept by recovery: which, its generation, where its records end, its last LSN and record count. */
export interface KeptLogFile {
  index: 0 | 1;
  generation: number;
  bytes: number;
  lastLsn: number;
  records: number;
}

export interface LogAppend {
  lsn: number;
  durable: Promise<void>;
}

export interface LogWriterStats {
  activeLog: number;
  logBytes: [number, number];
  queuedBytes: number;
  queuedRecords: number;
  groups: number;
  records: number;
  /** datasyncs of record bytes (groups, interval timer, swap) and O_DSYNC group writes; not of resets. */
  syncs: number;
}

export function assertOptions(o: LogWriterOptions): void {
  const positive = (v: number, name: string) => assert(Number.isSafeInteger(v) && v > 0, `LogWriter ${name} ${v}`);
  positive(o.groupCommitBytesMax, 'groupCommitBytesMax');
  positive(o.writeQueueBytesMax, 'writeQueueBytesMax');
  positive(o.logSwapBytes, 'logSwapBytes');
  positive(o.logSwapMs, 'logSwapMs');
  positive(o.nextLsn, 'nextLsn');
  if (o.durability !== 'none') positive(o.fsyncIntervalMs, 'fsyncIntervalMs');
  assert(Number.isSafeInteger(o.generation) && o.generation >= 0, `LogWriter generation ${o.generation}`);
  if (o.keep !== undefined) assert(o.keep.records > 0 && o.keep.lastLsn === o.nextLsn - 1 && o.keep.generation <= o.generation, `LogWriter keep ${JSON.stringify(o.keep)}`);
  assert(['fsync', 'interval', 'none'].includes(o.durability), `LogWriter durability ${o.durability}`);
}
