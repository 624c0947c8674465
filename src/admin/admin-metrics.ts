import { Counter, Gauge, Registry } from 'prom-client';
import type { EngineStats } from '../engine/engine-stats.js';
import type { SessionEngine } from '../engine/session-engine.js';
import { REQUEST_KINDS } from '../engine/operation-latency.js';
import { EventLoopDelay } from './event-loop-delay.js';
import { COUNT_BOUNDS, LATENCY_BOUNDS, LogHistogramMetric } from './log-histogram-metric.js';
import type { MetricsSource } from './admin-options.js';

const US_PER_S = 1e6;

/**
 * `/metrics` (SPEC S3): the engine's statistics in Prometheus text, through prom-client in a
 * Registry of our own (never the global one, which the application may use for itself).
 * Gauges and counters are set from one `engine.stats()` snapshot per scrape; histograms are
 * read from the engine's LogHistograms. Names are `sessiond_...` with the unit last.
 */
export class AdminMetrics {
  readonly registry = new Registry();
  private readonly loopDelay = new EventLoopDelay();
  private readonly set: Array<(s: EngineStats) => void> = [];
  private scraping: Promise<string> | undefined;

  constructor(
    private readonly engine: SessionEngine,
    private readonly extra: MetricsSource | undefined,
  ) {
    const lat = engine.latency;
    this.gauge('sessiond_sessions_live', 'Sessions stored and not expired', (s) => s.sessions.count);
    this.gauge('sessiond_sessions_pending_writes', 'Sessions with a change waiting for its fsync', (s) => s.sessions.pendingWrites);
    this.gauge('sessiond_tombstones', 'Destroyed session IDs still refusing late saves', (s) => s.tombstones);
    this.gauge('sessiond_queue_requests_waiting', 'Requests waiting for their session (SPEC E8)', (s) => s.queue.requestsWaiting);
    const ops = new Counter({ name: 'sessiond_operations_total', help: 'Operations completed, by kind (every get, including the untimed ones)', labelNames: ['op'], registers: [this.registry] });
    this.set.push(() => {
      ops.reset();
      for (const op of REQUEST_KINDS) ops.inc({ op }, lat.count(op));
    });
    this.counter('sessiond_log_groups_total', 'Group commits written to the log (one write and one fdatasync each)', (s) => s.log.groups);
    this.counter('sessiond_log_records_total', 'Records written to the log', (s) => s.log.records);
    const logBytes = new Gauge({ name: 'sessiond_log_file_bytes', help: 'Size of each log file', labelNames: ['log'], registers: [this.registry] });
    this.set.push((s) => s.log.logBytes.forEach((b, i) => logBytes.set({ log: String(i) }, b)));
    this.gauge('sessiond_log_queued_bytes', 'Bytes appended but not yet written to the log', (s) => s.log.queuedBytes);
    this.gauge('sessiond_database_file_bytes', 'Size of the database file', (s) => s.db.fileBytes);
    this.gauge('sessiond_database_free_bytes', 'Free space inside the database file', (s) => s.db.freeBytes);
    this.gauge('sessiond_flush_lag_seconds', 'Age of the oldest change not yet in the database file', (s) => s.flush.lagMs / 1000);
    this.gauge('sessiond_flush_lag_records', 'Log records acknowledged but not yet in the database file', (s) => s.flush.lsnLag);
    this.gauge('sessiond_flush_dirty_sessions', 'Sessions changed since they were last flushed', (s) => s.flush.dirtySessions);
    this.gauge('sessiond_recovery_duration_seconds', 'Time the last start took to recover the store', (s) => s.lastRecovery.ms / 1000);
    this.gauge('sessiond_recovery_sessions', 'Sessions recovered by the last start', (s) => s.lastRecovery.sessionsRecovered);
    this.gauge('sessiond_recovery_records_replayed', 'Log records replayed by the last start', (s) => s.lastRecovery.recordsReplayed);
    this.gauge('sessiond_recovery_discarded_bytes', 'Bytes the last start discarded (torn tails, salvaged damage)', (s) => s.lastRecovery.bytesDiscarded);
    this.gauge('sessiond_read_only', '1 when a write failure turned the store read-only', (s) => (s.readOnly === undefined ? 0 : 1));
    const loop = new Gauge({ name: 'sessiond_event_loop_delay_seconds', help: 'Event-loop delay since the previous scrape, by quantile (1 = max)', labelNames: ['quantile'], registers: [this.registry] });
    this.set.push(() => {
      const w = this.loopDelay.take();
      loop.set({ quantile: '0.5' }, w.p50Ms / 1000);
      loop.set({ quantile: '0.99' }, w.p99Ms / 1000);
      loop.set({ quantile: '1' }, w.maxMs / 1000);
    });
    const histogram = (name: string, help: string, bounds: typeof LATENCY_BOUNDS, scale: number, series: ConstructorParameters<typeof LogHistogramMetric>[4]): void =>
      this.registry.registerMetric(new LogHistogramMetric(name, help, bounds, scale, series).asMetric());
    histogram('sessiond_operation_duration_seconds', 'Time from call to answer, by operation (gets: one in 16 timed)', LATENCY_BOUNDS, US_PER_S, () =>
      REQUEST_KINDS.map((op) => ({ labels: { op }, histogram: lat.us[op] })),
    );
    histogram('sessiond_fsync_duration_seconds', 'Time of each group commit fdatasync of the log', LATENCY_BOUNDS, US_PER_S, () => [{ labels: {}, histogram: lat.us.fsync }]);
    histogram('sessiond_flush_duration_seconds', 'Time of each flush cycle into the database file', LATENCY_BOUNDS, US_PER_S, () => [{ labels: {}, histogram: lat.us.flush }]);
    histogram('sessiond_group_commit_records', 'Records per group commit', COUNT_BOUNDS, 1, () => [{ labels: {}, histogram: lat.groupRecords }]);
  }

  private gauge(name: string, help: string, value: (s: EngineStats) => number): void {
    const g = new Gauge({ name, help, registers: [this.registry] });
    this.set.push((s) => g.set(value(s)));
  }

  private counter(name: string, help: string, value: (s: EngineStats) => number): void {
    const c = new Counter({ name, help, registers: [this.registry] });
    this.set.push((s) => {
      c.reset();
      c.inc(value(s));
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text. Concurrent scrapes share one snapshot rather than interleave their sets. */
  scrape(): Promise<string> {
    this.scraping ??= this.render().finally(() => {
      this.scraping = undefined;
    });
    return this.scraping;
  }

  private async render(): Promise<string> {
    const s = await this.engine.stats();
    for (const f of this.set) f(s);
    const ours = await this.registry.metrics();
    return this.extra === undefined ? ours : `${ours}\n${await this.extra.metrics()}`;
  }

  stop(): void {
    this.loopDelay.stop();
  }
}
