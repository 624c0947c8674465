import type { EngineStats } from '../engine/engine-stats.js';
import { OPERATION_KINDS } from '../engine/operation-latency.js';

const buckets = (b: Record<string, number>): string =>
  Object.entries(b)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

/** The human form of `sessiond stats`. */
export function formatStats(s: EngineStats): string {
  const r = s.lastRecovery;
  return [
    `sessions        ${s.sessions.count} (${s.sessions.attributeBytes} attribute bytes, largest ${s.sessions.attributeBytesMax})`,
    `by owner        ${buckets(s.sessions.byOwner) || '-'}`,
    `by age          ${buckets(s.sessions.byAge)}`,
    `by expiry       ${buckets(s.sessions.byTimeToExpiry)}`,
    `durability      ${s.durability}${s.readOnly ? `  READ-ONLY: ${s.readOnly.reason}` : ''}`,
    `logs            ${s.log.logBytes.join(' + ')} bytes (active log-${s.log.activeLog}), ${s.log.groups} group commits`,
    `group commit    records p50 ${s.log.groupRecords.p50}  p99 ${s.log.groupRecords.p99}  max ${s.log.groupRecords.max}`,
    `database        ${s.db.fileBytes} bytes, ${s.db.liveImages} images, ${s.db.freeBytes} free inside (${(s.db.fragmentation * 100).toFixed(1)}% fragmentation)`,
    // Absent from the stats of a store older than cacheBytesMax (docs/memory.md).
    ...(s.cache === undefined ? [] : [`cache           ${s.cache.loaded} decoded (${s.cache.bytes} bytes, bound ${s.cache.bytesMax || 'none'}), ${s.cache.cold} not decoded or on disk, ${s.cache.loads} read back, ${s.cache.evictions} evicted`]),
    `flush lag       ${s.flush.dirtySessions} sessions, ${s.flush.lagMs} ms, ${s.flush.lsnLag} records`,
    `last recovery   ${r.sessionsRecovered} sessions, ${r.recordsReplayed} records replayed, ${r.bytesDiscarded} bytes discarded, ${r.ms} ms`,
    ...latencyTable(s.latencyMs),
  ].join('\n');
}

const ms = (v: number): string => v.toFixed(3).padStart(10);

/** One row per operation kind; histogram percentiles are within 6.25% of the exact value. */
function latencyTable(l: EngineStats['latencyMs']): string[] {
  const head = `latency ms      ${'count'.padStart(10)}${['p50', 'p90', 'p99', 'max'].map((h) => h.padStart(10)).join('')}`;
  return [head, ...OPERATION_KINDS.map((k) => `  ${k.padEnd(14)}${String(l[k].count).padStart(10)}${ms(l[k].p50)}${ms(l[k].p90)}${ms(l[k].p99)}${ms(l[k].max)}`)];
}
