import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { barChartSvg, type Bar } from './lib/bar-chart-svg.js';
import type { BenchResults } from './lib/bench-results.js';
import { REPO_ROOT } from './lib/package-version.js';
import { renderTables } from './lib/report-tables.js';

/**
 * Regenerates the measured part of docs/benchmarks.md (between the BEGIN/END markers) and
 * the SVG charts from one results file: `node dist/bench/report.js [bench/results/latest.json]`.
 * The prose around the markers (analysis, profiles) is written by hand and left alone.
 */

const BEGIN = '<!-- BEGIN GENERATED: node dist/bench/report.js -->';
const END = '<!-- END GENERATED -->';
const DOC = join(REPO_ROOT, 'docs/benchmarks.md');

function bars<T extends { peer: string; name: string }>(rows: T[], value: (r: T) => number | undefined): Bar[] {
  return rows.flatMap((r) => {
    const v = value(r);
    return v === undefined ? [] : [{ label: r.name, value: v, ours: r.peer.startsWith('sessiond') }];
  });
}

function machineBlock(r: BenchResults): string {
  const m = r.machine;
  const pk = Object.entries(m.packages).map(([k, v]) => `${k} ${v}`).join(', ');
  const load = Object.entries(r.loadAverageAt).map(([w, l]) => `${w} ${l.toFixed(2)}`).join(', ');
  return [
    `Run of ${r.startedAt} (${r.config.quick ? 'quick' : 'full'}, ${Math.round(r.seconds)} s): \`${r.command}\``,
    '',
    `- sessiond: commit ${m.git.commit}${m.git.srcDirty ? ' plus uncommitted changes in src/ (the engine was being worked on during the run)' : ''}`,
    `- Machine: ${m.cpus} × ${m.cpuModel}, ${(m.memTotalBytes / 2 ** 30).toFixed(1)} GiB RAM, Linux ${m.kernel}, Node ${m.node}`,
    `- Packages: ${pk}`,
    `- 1-minute load average when each workload started: ${load}`,
    `- sessiond engine options beyond { dir, durability }: ${Object.keys(r.config.sessiondOptions).length === 0 ? 'none (the defaults)' : `\`${JSON.stringify(r.config.sessiondOptions)}\``}`,
    '',
    '```',
    `$ nproc\n${m.cpus}`,
    `$ free -h\n${m.free}`,
    `$ df -hT ${r.dataDir}\n${m.df}`,
    '```',
  ].join('\n');
}

export function writeDocs(r: BenchResults): void {
  const charts: string[] = [];
  if (r.http !== undefined) {
    writeFileSync(join(REPO_ROOT, 'docs/benchmarks-http.svg'), barChartSvg({ title: 'HTTP: express + express-session, 32 connections', unit: 'requests/s', bars: bars(r.http.results, (x) => x.reqPerSec) }));
    charts.push('![HTTP requests per second by store](benchmarks-http.svg)');
  }
  if (r.storeApi !== undefined) {
    const phase = (i: number) => (x: (typeof r.storeApi & object)['results'][number]) => x.phases[i]?.opsPerSec;
    writeFileSync(join(REPO_ROOT, 'docs/benchmarks-store-api.svg'), barChartSvg({ title: 'Store API: 90% get / 10% writes, 64 outstanding', unit: 'operations/s', log: true, bars: bars(r.storeApi.results, phase(0)) }));
    writeFileSync(join(REPO_ROOT, 'docs/benchmarks-writes-256.svg'), barChartSvg({ title: 'Store API: 100% writes, 256 outstanding', unit: 'writes/s', log: true, bars: bars(r.storeApi.results, phase(r.storeApi.results[0]!.phases.length - 1)) }));
    charts.push('![Store API operations per second by store](benchmarks-store-api.svg)', '![Store API writes per second at 256 outstanding](benchmarks-writes-256.svg)');
  }
  const generated = [BEGIN, '', machineBlock(r), '', ...charts.flatMap((c) => [c, '']), renderTables(r), '', END].join('\n');
  let doc: string;
  try {
    doc = readFileSync(DOC, 'utf8');
  } catch {
    doc = `# Benchmarks\n\n${BEGIN}\n${END}\n`;
  }
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${DOC} has no ${BEGIN} … ${END} section to replace`);
  writeFileSync(DOC, doc.slice(0, a) + generated + doc.slice(b + END.length));
}

const file = process.argv[2] ?? join(REPO_ROOT, 'bench/results/latest.json');
writeDocs(JSON.parse(readFileSync(file, 'utf8')) as BenchResults);
console.log(`docs/benchmarks.md regenerated from ${file}`);
