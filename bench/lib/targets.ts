import type { BenchResults } from './bench-results.js';

/** One of the targets, as measured in one run. */
export interface TargetCheck {
  target: string;
  goal: string;
  measured: string;
  /** measured / goal threshold, in the direction where >= 1 means met */
  margin: number | undefined;
  met: boolean | undefined;
}

const SESSIOND = 'sessiond-fsync';
const RECOVERY_TARGET_SESSIONS = 1_000_000;
const RECOVERY_MS_MAX = 5000;

function http(r: BenchResults, peer: string): number | undefined {
  return r.http?.results.find((x) => x.peer === peer)?.reqPerSec;
}

function storeApi(r: BenchResults, peer: string, phase = 0): number | undefined {
  return r.storeApi?.results.find((x) => x.peer === peer)?.phases[phase]?.opsPerSec;
}

function ratioCheck(target: string, num: number | undefined, den: number | undefined, goal: number, what: string): TargetCheck {
  if (num === undefined || den === undefined) return { target, goal: `>= ${goal}x`, measured: 'not measured', margin: undefined, met: undefined };
  const ratio = num / den;
  return { target, goal: `>= ${goal}x`, measured: `${ratio.toFixed(2)}x (${what}: ${Math.round(num).toLocaleString('en-US')} vs ${Math.round(den).toLocaleString('en-US')})`, margin: ratio / goal, met: ratio >= goal };
}

/** One memory measurement: from the memory workload (Store API) or the recovery workload (engine). */
export interface MemoryRow {
  store: string;
  sessiond: boolean;
  how: string;
  sessions: number;
  payloadBytes: number;
  rssPerSessionBytes: number;
}

export function memoryRows(r: BenchResults): MemoryRow[] {
  const rows: MemoryRow[] = (r.memory?.results ?? []).map((m) => ({
    store: m.name,
    sessiond: m.peer.startsWith('sessiond'),
    how: 'Store API set',
    sessions: m.sessions,
    payloadBytes: m.payloadBytesPerSession,
    rssPerSessionBytes: m.rssPerSessionBytes,
  }));
  for (const x of r.recovery ?? []) {
    const payloadBytes = x.populate.payloadBytesPerSession;
    rows.push({ store: 'sessiond fsync', sessiond: true, how: 'engine.save (recovery workload)', sessions: x.sessions, payloadBytes, rssPerSessionBytes: (x.populate.rssAfterBytes - x.populate.rssBeforeBytes) / x.sessions });
    rows.push({ store: 'sessiond fsync', sessiond: true, how: 'reopened after SIGKILL', sessions: x.sessions, payloadBytes, rssPerSessionBytes: x.rssPerSessionBytes });
  }
  return rows;
}

export function checkTargets(r: BenchResults): TargetCheck[] {
  const out: TargetCheck[] = [];
  out.push(ratioCheck('HTTP req/s, sessiond fsync vs memorystore', http(r, SESSIOND), http(r, 'memorystore'), 1, 'req/s'));
  out.push(ratioCheck('HTTP req/s, sessiond fsync vs better-sqlite3-session-store', http(r, SESSIOND), http(r, 'sqlite'), 3, 'req/s'));
  out.push(ratioCheck('Store API ops/s (90/10 mix, 64 outstanding), sessiond fsync vs memorystore', storeApi(r, SESSIOND), storeApi(r, 'memorystore'), 1.5, 'ops/s'));
  const d256 = r.engine?.depths.find((d) => d.depth === 256);
  out.push(ratioCheck('Durable 1 KiB writes at 256 outstanding, engine vs raw writev+fdatasync loop', d256?.fullSave.opsPerSec, d256?.raw.opsPerSec, 0.8, 'writes/s'));
  const writes256 = r.storeApi?.results.find((x) => x.peer === SESSIOND)?.phases.find((p) => p.name === 'writes @256')?.opsPerSec;
  out.push(ratioCheck('Durable writes at 256 outstanding, Store API (set/touch/destroy) vs raw loop', writes256, d256?.raw.opsPerSec, 0.8, 'writes/s'));
  const rec = r.recovery?.find((x) => x.sessions === RECOVERY_TARGET_SESSIONS);
  out.push(
    rec === undefined
      ? { target: 'Reopen after SIGKILL with 1M sessions', goal: '<= 5 s', measured: 'not measured (run without --quick)', margin: undefined, met: undefined }
      : { target: 'Reopen after SIGKILL with 1M sessions', goal: '<= 5 s', measured: `${(rec.reopen.openMs / 1000).toFixed(2)} s`, margin: RECOVERY_MS_MAX / rec.reopen.openMs, met: rec.reopen.openMs <= RECOVERY_MS_MAX },
  );
  for (const m of memoryRows(r).filter((x) => x.sessiond)) {
    const limit = 1.5 * m.payloadBytes + 200;
    out.push({
      target: `RSS per session, sessiond, ${m.sessions.toLocaleString('en-US')} sessions, ${m.how}`,
      goal: `<= 1.5 x payload + 200 B = ${Math.round(limit)} B`,
      measured: `${Math.round(m.rssPerSessionBytes)} B (payload ${Math.round(m.payloadBytes)} B)`,
      margin: limit / m.rssPerSessionBytes,
      met: m.rssPerSessionBytes <= limit,
    });
  }
  const reads = r.engine?.cacheReads.opsPerSec;
  out.push(
    reads === undefined
      ? { target: 'Engine reads from the cache', goal: '>= 1,000,000/s', measured: 'not measured', margin: undefined, met: undefined }
      : { target: 'Engine reads from the cache (engine.get)', goal: '>= 1,000,000/s', measured: `${Math.round(reads).toLocaleString('en-US')}/s`, margin: reads / 1e6, met: reads >= 1e6 },
  );
  return out;
}
