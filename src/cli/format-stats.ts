import type { EngineStats } from '../engine/engine-stats.js';

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
    `fsync ms        p50 ${s.log.fsyncMs.p50.toFixed(2)}  p99 ${s.log.fsyncMs.p99.toFixed(2)}  max ${s.log.fsyncMs.max.toFixed(2)}`,
    `database        ${s.db.fileBytes} bytes, ${s.db.liveImages} images, ${s.db.freeBytes} free inside (${(s.db.fragmentation * 100).toFixed(1)}% fragmentation)`,
    `flush lag       ${s.flush.dirtySessions} sessions, ${s.flush.lagMs} ms, ${s.flush.lsnLag} records`,
    `last recovery   ${r.sessionsRecovered} sessions, ${r.recordsReplayed} records replayed, ${r.bytesDiscarded} bytes discarded, ${r.ms} ms`,
  ].join('\n');
}
