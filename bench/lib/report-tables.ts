import type { BenchResults } from './bench-results.js';
import { fmtInt, fmtMiB, fmtMs, fmtRatio, mdTable } from './format.js';
import { checkTargets, memoryRows } from './targets.js';

/** The markdown tables of one run: every number the docs show comes from here. */
export function renderTables(r: BenchResults): string {
  return [targetsTable(r), storesTable(r), diskTable(r), engineTable(r), storeApiTables(r), httpTable(r), recoveryTable(r), memoryTable(r), failuresList(r)]
    .filter((s) => s !== '')
    .join('\n\n');
}

function targetsTable(r: BenchResults): string {
  const rows = checkTargets(r).map((t) => [t.target, t.goal, t.measured, t.met === undefined ? 'not measured' : t.met ? 'met' : `**missed** (${fmtRatio(t.margin)} of goal)`]);
  return `### Targets\n\n${mdTable(['Target', 'Goal', 'Measured', 'Result'], rows)}`;
}

function storesTable(r: BenchResults): string {
  const seen = new Map<string, { name: string; durability: string; versions: Record<string, string> }>();
  for (const x of [...(r.storeApi?.results ?? []), ...(r.http?.results ?? [])]) if (!seen.has(x.peer)) seen.set(x.peer, x);
  if (seen.size === 0) return '';
  const rows = [...seen.entries()].map(([key, x]) => [x.name, `\`${key}\``, x.durability, Object.entries(x.versions).map(([k, v]) => `${k} ${v}`).join(', ') || '–']);
  return `### Stores as they ran\n\n${mdTable(['Store', 'Key', 'Durability as configured', 'Versions'], rows)}`;
}

function diskTable(r: BenchResults): string {
  const d = r.disk;
  if (d === undefined) return '';
  const rows = [
    ['4 KiB append + fdatasync', fmtMs(d.append4k.p50Ms), fmtMs(d.append4k.p99Ms), fmtMs(d.append4k.maxMs), fmtInt(d.append4k.count)],
    ['4 KiB overwrite + fdatasync', fmtMs(d.overwrite4k.p50Ms), fmtMs(d.overwrite4k.p99Ms), fmtMs(d.overwrite4k.maxMs), fmtInt(d.overwrite4k.count)],
  ];
  return `### 1. The disk (${d.fsType}, block ${d.blockBytes} B)\n\n${mdTable(['Operation', 'p50 ms', 'p99 ms', 'max ms', 'samples'], rows)}\n\nSequential write: ${fmtMiB(d.sequentialWrite.bytes)} in 1 MiB writes + one fdatasync: **${fmtInt(d.sequentialWrite.mbPerSec)} MB/s**.`;
}

function engineTable(r: BenchResults): string {
  const e = r.engine;
  if (e === undefined) return '';
  const rows = e.depths.map((d) => [
    String(d.depth),
    fmtInt(d.raw.opsPerSec),
    fmtMs(d.raw.latency.p50Ms),
    fmtInt(d.fullSave.opsPerSec),
    `${((d.fullSave.opsPerSec / d.raw.opsPerSec) * 100).toFixed(0)}%`,
    fmtMs(d.fullSave.latency.p50Ms),
    fmtMs(d.fullSave.latency.p99Ms),
    fmtInt(d.smallSave.opsPerSec),
    fmtMs(d.smallSave.latency.p50Ms),
    loopCell(d.raw.loopDelay),
    loopCell(d.fullSave.loopDelay),
  ]);
  return (
    `### Engine: durable writes (durability fsync) beside a raw writev+fdatasync loop\n\n` +
    `${fmtInt(e.sessions)} sessions of ${e.sessionJsonBytes} B JSON; raw records of ${e.rawRecordBytes} B; mean raw group at 256 writers: ${fmtInt(e.depths.at(-1)!.raw.ops / Math.max(1, e.depths.at(-1)!.raw.groups))} records.\n\n` +
    mdTable(['Writers', 'raw writes/s', 'raw p50 ms', 'full save/s', '% of raw', 'p50 ms', 'p99 ms', 'small save/s', 'p50 ms', 'loop delay p99 / max ms, raw', 'same, full save'], rows) +
    `\n\nCache reads (\`engine.get\`): **${fmtInt(e.cacheReads.opsPerSec)}/s**; with the adapter's JSON.parse of the session: ${fmtInt(e.cacheReadsParsed.opsPerSec)}/s.`
  );
}

function storeApiTables(r: BenchResults): string {
  const s = r.storeApi;
  if (s === undefined) return '';
  const phases = s.results[0]?.phases.map((p) => p.name) ?? [];
  const thr = s.results.map((x) => [x.name, ...x.phases.map((p) => fmtInt(p.opsPerSec)), fmtMiB(x.rssPeakBytes) + (x.serverRssPeakBytes !== undefined ? ` + server ${fmtMiB(x.serverRssPeakBytes)}` : '')]);
  const lat = s.results.map((x) => [x.name, ...x.phases.map((p) => `${fmtMs(p.latency.p50Ms)} / ${fmtMs(p.latency.p99Ms)}`)]);
  const loop = s.results.map((x) => [x.name, ...x.phases.map((p) => loopCell(p.loopDelay))]);
  const chk = s.results.map((x) => {
    const checks = x.phases.reduce((n, p) => n + p.checks, 0);
    const fails = x.phases.reduce((n, p) => n + p.checkFailures, 0);
    const errors = x.phases.reduce((n, p) => n + p.errors, 0);
    return [x.name, fmtInt(checks), String(fails), `${x.verify.checked} / ${x.verify.failures}`, String(errors)];
  });
  const failed = s.failures.map((f) => `- ${f.peer}: failed: ${f.error.split('\n')[0]}`).join('\n');
  const n = s.results[0]?.sessions ?? 0;
  return (
    `### 2. Store API (${fmtInt(n)} sessions, each store in its own process)\n\nOperations per second:\n\n${mdTable(['Store', ...phases, 'peak RSS'], thr)}\n\n` +
    `Latency p50 / p99 in ms:\n\n${mdTable(['Store', ...phases], lat)}\n\n` +
    `Event-loop delay of the store's process, p99 / max in ms (perf_hooks.monitorEventLoopDelay, 1 ms sampling):\n\n${mdTable(['Store', ...phases], loop)}\n\n` +
    `Last-write check (every get compared with the last acknowledged write of its session; then every session read back whole):\n\n${mdTable(['Store', 'gets checked', 'wrong', 'read back / wrong', 'errors'], chk)}` +
    (failed ? `\n\n${failed}` : '')
  );
}

function httpTable(r: BenchResults): string {
  const h = r.http;
  if (h === undefined) return '';
  const rows = h.results.map((x) => [
    x.name,
    fmtInt(x.reqPerSec),
    x.roundsReqPerSec.map(fmtInt).join(', '),
    fmtMs(x.latencyMs.p50),
    fmtMs(x.latencyMs.p99),
    String(x.errors + x.timeouts + x.non2xx),
    `${fmtInt(x.increments.acknowledged)} / ${x.increments.lost}`,
    x.serverCpuSystemMsPerRequest === undefined ? fmtMs(x.serverCpuMsPerRequest) : `${fmtMs(x.serverCpuMsPerRequest)} (${fmtMs(x.serverCpuSystemMsPerRequest)})`,
    fmtMiB(x.serverRssPeakBytes) + (x.storeServerRssPeakBytes !== undefined ? ` + ${fmtMiB(x.storeServerRssPeakBytes)}` : ''),
    loopCell(x.loopDelay),
  ]);
  const failed = h.failures.map((f) => `- ${f.peer}: failed: ${f.error.split('\n')[0]}`).join('\n');
  const c = h.results[0];
  return (
    `### 3. HTTP (express 5 + express-session, ${c?.connections ?? '?'} connections, ${r.config.http.rounds} rounds of ${r.config.http.durationSec} s, 90% GET /counter, 10% POST /increment)\n\n` +
    'Rounds go round-robin over the stores in a rotated order; the median round stands for each store, errors and lost updates add up over all rounds.\n\n' +
    mdTable(['Store', 'req/s (median round)', 'rounds', 'p50 ms', 'p99 ms', 'errors', 'increments acked / lost', 'server CPU ms/req (system)', 'server peak RSS', 'server loop delay p99 / max ms'], rows) +
    (failed ? `\n\n${failed}` : '')
  );
}

/** Event-loop delay p99 / max; results from before it was measured show a dash. */
function loopCell(d: { samples?: number; p99Ms: number; maxMs: number } | undefined): string {
  if (d === undefined) return '–';
  // No tick at all: the loop was blocked for the whole phase (a store that calls back synchronously).
  return d.samples === 0 ? `blocked ${fmtMs(d.maxMs)}` : `${fmtMs(d.p99Ms)} / ${fmtMs(d.maxMs)}`;
}

function recoveryTable(r: BenchResults): string {
  if (r.recovery === undefined) return '';
  const rows = r.recovery.map((x) => {
    const rep = x.reopen.report as { recordsReplayed?: number; db?: { images?: number; bytesScanned?: number } };
    return [fmtInt(x.sessions), `${x.populate.seconds.toFixed(1)} s`, `**${(x.reopen.openMs / 1000).toFixed(2)} s**`, fmtInt(rep.recordsReplayed), fmtInt(rep.db?.images), fmtMiB(rep.db?.bytesScanned), fmtInt(x.rssPerSessionBytes)];
  });
  return `### 4. Recovery (sessiond, durability fsync, SIGKILL right after the last save)\n\n${mdTable(['Sessions', 'populate', 'reopen', 'log records replayed', 'db images read', 'db bytes scanned', 'RSS B/session after reopen'], rows)}`;
}

function memoryTable(r: BenchResults): string {
  const rows = memoryRows(r).map((x) => [x.store, x.how, fmtInt(x.sessions), fmtInt(x.payloadBytes), fmtInt(x.rssPerSessionBytes), fmtRatio(x.rssPerSessionBytes / x.payloadBytes), fmtInt(1.5 * x.payloadBytes + 200)]);
  if (rows.length === 0) return '';
  const failed = (r.memory?.failures ?? []).map((f) => `- ${f.peer} at ${f.sessions}: failed: ${f.error.split('\n')[0]}`).join('\n');
  const marginal = marginalRows(r).map((m) => `- ${m.store}, ${m.how}: **${fmtInt(m.bytesPerSession)} B** per session from ${fmtInt(m.from)} to ${fmtInt(m.to)} sessions`).join('\n');
  return (
    `### 5. Memory (RSS growth per session after GC, each in a fresh process)\n\n${mdTable(['Store', 'Loaded', 'Sessions', 'payload B', 'RSS B/session', 'RSS / payload', 'target B (1.5x + 200)'], rows)}` +
    (marginal ? `\n\nMarginal cost (RSS difference between the two sizes over the sessions added; fixed costs such as buffers and V8's young generation cancel out):\n\n${marginal}` : '') +
    (failed ? `\n\n${failed}` : '')
  );
}

/** RSS added per session between two sizes of the same store and loading path. */
function marginalRows(r: BenchResults): { store: string; how: string; from: number; to: number; bytesPerSession: number }[] {
  const rows = memoryRows(r);
  const out: { store: string; how: string; from: number; to: number; bytesPerSession: number }[] = [];
  for (const a of rows) {
    const b = rows.find((x) => x.store === a.store && x.how === a.how && x.sessions > a.sessions);
    if (b === undefined) continue;
    out.push({ store: a.store, how: a.how, from: a.sessions, to: b.sessions, bytesPerSession: (b.rssPerSessionBytes * b.sessions - a.rssPerSessionBytes * a.sessions) / (b.sessions - a.sessions) });
  }
  return out;
}

function failuresList(r: BenchResults): string {
  if (r.failures.length === 0) return '';
  return `### Failed workloads\n\n${r.failures.map((f) => `- ${f.workload}: ${f.error.split('\n')[0]}`).join('\n')}`;
}
