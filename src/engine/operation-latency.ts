import { performance } from 'node:perf_hooks';
import { LogHistogram, type HistogramSummary } from '../util/log-histogram.js';

/**
 * Latency histograms of the engine's operations, always on (issue 8, "beyond the peers"):
 * what a caller waited for each get, save, patch, touch and destroy, how long each group's
 * fsync and each flush cycle took, and how many records each group commit carried.
 * Latencies are recorded in whole microseconds from performance.now(), a monotonic clock:
 * they measure, they never decide anything, so the injected Clock is not needed here.
 */

export const OPERATION_KINDS = ['get', 'save', 'patch', 'touch', 'destroy', 'fsync', 'flush'] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];
/** The operations a caller asks for; fsync and flush are the engine's own work. */
export const REQUEST_KINDS = ['get', 'save', 'patch', 'touch', 'destroy'] as const satisfies readonly OperationKind[];

export const US_PER_MS = 1000;
/**
 * Gets are timed one in this many (a power of two). A get is a map lookup of well under a
 * microsecond, and reading the clock twice costs about 0.1-0.3 us on this class of machine
 * (bench/histogram.ts), so timing every get would double its cost; every get is counted.
 */
export const GET_SAMPLE_EVERY = 16;

export class OperationLatency {
  /** Microseconds per operation kind. */
  readonly us: Readonly<Record<OperationKind, LogHistogram>> = {
    get: new LogHistogram(),
    save: new LogHistogram(),
    patch: new LogHistogram(),
    touch: new LogHistogram(),
    destroy: new LogHistogram(),
    fsync: new LogHistogram(),
    flush: new LogHistogram(),
  };
  /** Records per group commit. */
  readonly groupRecords = new LogHistogram();
  /** Every get, timed or not. */
  gets = 0;

  /** Starts timing a get: a performance.now() reading for one get in GET_SAMPLE_EVERY, else -1. */
  startGet(): number {
    return (++this.gets & (GET_SAMPLE_EVERY - 1)) === 0 ? performance.now() : -1;
  }

  endGet(startMs: number): void {
    if (startMs >= 0) this.since('get', startMs);
  }

  /** Records the time since `startMs` (a performance.now() reading). */
  since(kind: OperationKind, startMs: number): void {
    this.us[kind].add((performance.now() - startMs) * US_PER_MS);
  }

  addMs(kind: OperationKind, ms: number): void {
    this.us[kind].add(ms * US_PER_MS);
  }

  /** How many operations of `kind` completed (for get: every call, not just the timed ones). */
  count(kind: OperationKind): number {
    return kind === 'get' ? this.gets : this.us[kind].count;
  }

  /** p50/p90/p99/max/mean in milliseconds, and the count of operations, per kind. */
  summaryMs(): Record<OperationKind, HistogramSummary> {
    const out = {} as Record<OperationKind, HistogramSummary>;
    for (const k of OPERATION_KINDS) out[k] = this.us[k].summary(US_PER_MS);
    out.get.count = this.gets;
    return out;
  }
}
