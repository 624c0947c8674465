/**
 * `npm run bench:server` (docs/benchmarks.md, "sessiond serve against redis-server"), in one run:
 *
 * 1. RESP: redis-benchmark at 50 clients, -P 1 and -P 16, one run per command (PING_MBULK,
 *    SET, GET) so the server's CPU time per request can be read from /proc for each,
 *    against `sessiond serve` (durability fsync: every SET durable before its reply) and
 *    redis-server started here on free loopback ports with appendfsync always (the same
 *    durability), appendfsync everysec, and no persistence.
 * 2. HTTP: the main bench's HTTP workload (bench/http.ts: express 5 + express-session,
 *    autocannon, 32 sessions, 90% GET / 10% POST, rounds round-robin) with connect-redis +
 *    node-redis 5 against the same four servers.
 *
 * Each redis-benchmark run starts with the server settled, and is charged what the server
 * spent settling after it (bench/lib/settle.ts): before the first run the bench waits until
 * the server process is idle (its CPU time grows by less than 2% of one core over 300 ms,
 * capped at 30 s; the same rule for every target), and after each run it waits the same
 * way before reading the server's CPU. So a SET run's "server CPU µs/request" includes the
 * flush of its SETs into sessiond's database file (a redis-server's AOF work likewise), and
 * the GET run after it does not pay for it. The settle time is printed for each run
 * (`settleMs`; `runCpuUsPerRequest` is the CPU of the run alone, without the settling).
 * sessiond's flusher no longer checkpoints a run's SETs within a second: it waits for
 * `flushIntervalMs` (30 s) or 16 MiB of log (docs/durability.md "When the database file is
 * written"), as redis-server's AOF rewrite waits for its growth. So after each SET run on a
 * sessiond target the bench sends SAVE (the checkpoint now) and reports its CPU per SET
 * apart (`checkpointCpuUsPerRequest`): what the run's writes will cost the flusher later,
 * once per session however often it was written, left out of the requests/s.
 *
 * Prints markdown tables, writes bench/results/server-<time>.json and the charts
 * docs/benchmarks-server-resp.svg and docs/benchmarks-server-http.svg.
 * BENCH_REQUESTS sets -n (default 100000); --quick is a smoke run; --only resp|http;
 * --stores serve-sessiond,serve-redis-always runs the HTTP part against those stores only;
 * --report FILE prints the tables and writes the charts again from a results file, running nothing.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchConfig } from './bench-config.js';
import { runHttp, type HttpRun } from './http.js';
import { barChartSvg } from './lib/bar-chart-svg.js';
import { freeLoopbackPort } from './lib/free-port.js';
import { machineInfo } from './lib/machine-info.js';
import { REPO_ROOT } from './lib/package-version.js';
import { processCpuMs } from './lib/process-cpu.js';
import { waitUntilIdle } from './lib/settle.js';
import { startRedisServer, type RedisPersistence } from './lib/redis-server.js';
import { stopProcess } from './lib/stop-process.js';
import { SERVER_PEERS } from './peers/peer-registry.js';
import { startSessiondServe } from './peers/sessiond-serve-peer.js';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string', default: 'resp,http' }, stores: { type: 'string' }, report: { type: 'string' } } });
const QUICK = args.quick;
const ONLY = args.only.split(',');
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? (QUICK ? 2000 : 100_000));
const CLIENTS = 50;
const PIPELINES = [1, 16];
/**
 * The SET run sends its own command, not `-t set`: redis-benchmark's SET writes one fixed
 * 200-byte value, so a SET of a key already holding it (37% of a run's 100,000 draws from
 * 100,000 keys, and most of the -P 16 run's after the -P 1 run's) changed nothing, and
 * sessiond answers such a SET without a log record once the state is durable, where
 * redis-server appends it to its AOF. Here the value starts with its own random number
 * (`__rand_int__` is drawn again at each place in each command): every SET is a change, as
 * a session store's are. 2 + 12 + 1 + 185 = 200 bytes, the `-d 200` of the other runs.
 */
const SET_ARGS = ['SET', 'key:__rand_int__', `v:__rand_int__:${'x'.repeat(185)}`];

const TESTS: readonly { test: string; label: string; args?: readonly string[] }[] = [
  { test: 'ping_mbulk', label: 'PING' },
  { test: 'set', label: 'SET', args: SET_ARGS },
  { test: 'get', label: 'GET' },
];

interface RespTarget {
  name: string;
  ours: boolean;
  /** starts the server on a free loopback port; resolves once it serves */
  start(dir: string): Promise<{ pid: number; port: number; stop(): Promise<void> }>;
}

const redis = (name: string, persistence: RedisPersistence): RespTarget => ({
  name,
  ours: false,
  async start(dir) {
    const server = await startRedisServer(dir, persistence);
    return { pid: server.pid, port: server.port, stop: () => server.stop() };
  },
});

const TARGETS: RespTarget[] = [
  {
    name: 'sessiond serve (fsync)',
    ours: true,
    async start(dir) {
      const port = await freeLoopbackPort();
      const pid = await startSessiondServe(join(dir, 'store'), port, JSON.parse(process.env.SESSIOND_SERVE_EXEC_ARGV ?? '[]') as string[]);
      return { pid, port, stop: () => stopProcess(pid) };
    },
  },
  redis('redis-server appendfsync always', 'always'),
  redis('redis-server appendfsync everysec', 'everysec'),
  redis('redis-server no persistence', 'none'),
];

interface RespRow {
  target: string;
  pipeline: number;
  command: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** the server process's CPU time (user + system) per request, in µs, its settling after the run included */
  serverCpuUsPerRequest: number;
  /** the same without the settling: only while redis-benchmark ran */
  runCpuUsPerRequest?: number;
  /** how long the server took to become idle after the run (bench/lib/settle.ts); absent in results of older runs */
  settleMs?: number;
  /** false when it was still busy at the cap */
  settled?: boolean;
  /** sessiond SET runs: the server CPU of a SAVE right after the settled run (the checkpoint of its writes), per request */
  checkpointCpuUsPerRequest?: number;
}

/** Sends SAVE and waits for its reply (the checkpoint of what the runs wrote). */
function saveNow(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', ['-p', String(port), 'SAVE'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => (code === 0 && out.trim() === 'OK' ? resolve() : reject(new Error(`SAVE answered ${code} ${out.trim()}`))));
  });
}

/** One redis-benchmark run: `-t test`, or the command `args`; its one CSV row. */
function redisBenchmark(port: number, pipeline: number, t: (typeof TESTS)[number]): Promise<{ rps: number; p50: number; p99: number } | undefined> {
  const common = ['-p', String(port), '-n', String(REQUESTS), '-c', String(CLIENTS), '-P', String(pipeline), '-r', '100000', '--csv'];
  const argv = t.args === undefined ? [...common, '-t', t.test, '-d', '200'] : [...common, ...t.args];
  return new Promise((resolve, reject) => {
    const child = spawn('redis-benchmark', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`redis-benchmark exited ${code}: ${out}`));
      const lines = out.trim().split('\n');
      const header = JSON.parse(`[${lines[0]}]`) as string[];
      if (lines.length !== 2) return resolve(undefined);
      const cols = JSON.parse(`[${lines[1]}]`) as string[];
      const col = (name: string): number => Number(cols[header.indexOf(name)]);
      resolve({ rps: col('rps'), p50: col('p50_latency_ms'), p99: col('p99_latency_ms') });
    });
  });
}

function cpuMs(pid: number): number {
  const c = processCpuMs(pid);
  if (c === undefined) throw new Error(`server ${pid} is gone`);
  return c.userMs + c.systemMs;
}

async function runResp(log: (s: string) => void): Promise<RespRow[]> {
  const rows: RespRow[] = [];
  for (const target of TARGETS) {
    const dir = mkdtempSync(join(tmpdir(), 'sessiond-bench-server-'));
    const server = await target.start(dir);
    const { port } = server;
    const settle = (): ReturnType<typeof waitUntilIdle> => waitUntilIdle({ cpuMs: () => cpuMs(server.pid) });
    try {
      const started = await settle();
      log(`  ${target.name}: idle ${Math.round(started.settleMs)} ms after start${started.idle ? '' : ' (still busy at the cap)'}`);
      for (const pipeline of PIPELINES) {
        for (const t of TESTS) {
          const before = cpuMs(server.pid);
          const r = await redisBenchmark(port, pipeline, t);
          const during = cpuMs(server.pid) - before;
          const after = await settle();
          const used = during + after.cpuMs;
          if (r === undefined) throw new Error(`redis-benchmark printed no single ${t.label} row`);
          const row: RespRow = {
            target: target.name,
            pipeline,
            command: t.label,
            rps: r.rps,
            p50Ms: r.p50,
            p99Ms: r.p99,
            serverCpuUsPerRequest: (used * 1000) / REQUESTS,
            runCpuUsPerRequest: (during * 1000) / REQUESTS,
            settleMs: Math.round(after.settleMs),
            settled: after.idle,
          };
          if (target.ours && t.label === 'SET') {
            const c0 = cpuMs(server.pid);
            await saveNow(port);
            row.checkpointCpuUsPerRequest = ((cpuMs(server.pid) - c0) * 1000) / REQUESTS;
            await settle();
          }
          rows.push(row);
          log(
            `  ${row.target} -P ${pipeline} ${row.command}: ${Math.round(row.rps)} rps, server CPU ${row.serverCpuUsPerRequest.toFixed(1)} µs/request (${row.runCpuUsPerRequest!.toFixed(1)} during the run), settled in ${row.settleMs} ms${row.settled ? '' : ' (still busy at the cap)'}${row.checkpointCpuUsPerRequest === undefined ? '' : `, SAVE after it ${row.checkpointCpuUsPerRequest.toFixed(1)} µs/request`}`,
          );
        }
      }
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

const k = (n: number): string => Math.round(n).toLocaleString('en-US');

function respTable(rows: RespRow[]): string {
  const lines = [
    '| target | -P | PING rps | SET rps | SET p50 / p99 ms | GET rps | GET p50 / p99 ms | server CPU µs/request PING / SET / GET | settle ms after PING / SET / GET |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const target of TARGETS) {
    for (const pipeline of PIPELINES) {
      const r = (c: string): RespRow => rows.find((x) => x.target === target.name && x.pipeline === pipeline && x.command === c)!;
      const [ping, set, get] = [r('PING'), r('SET'), r('GET')];
      lines.push(
        `| ${target.name} | ${pipeline} | ${k(ping.rps)} | ${k(set.rps)} | ${set.p50Ms} / ${set.p99Ms} | ${k(get.rps)} | ${get.p50Ms} / ${get.p99Ms} | ${[ping, set, get].map((x) => x.serverCpuUsPerRequest.toFixed(1)).join(' / ')} | ${[ping, set, get].map((x) => (x.settleMs === undefined ? '–' : `${k(x.settleMs)}${x.settled ? '' : '+'}`)).join(' / ')} |`,
      );
    }
  }
  return lines.join('\n');
}

function httpTable(run: HttpRun): string {
  const lines = [
    '| store | req/s (median round) | rounds | p50 ms | p99 ms | errors | increments acked / lost | app CPU ms/req | store server CPU ms/req |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of run.results) {
    lines.push(
      `| ${r.name} | ${k(r.reqPerSec)} | ${r.roundsReqPerSec.map(k).join(', ')} | ${r.latencyMs.p50} | ${r.latencyMs.p99} | ${r.errors + r.timeouts + r.non2xx} | ${r.increments.acknowledged} / ${r.increments.lost} | ${r.serverCpuMsPerRequest.toFixed(3)} | ${r.storeServerCpuMsPerRequest?.toFixed(3) ?? '–'} |`,
    );
  }
  for (const f of run.failures) lines.push(`| ${f.peer} | FAILED: ${f.error.split('\n')[0]} | | | | | | | |`);
  return lines.join('\n');
}

/** The issue's targets, as ratios to redis-server with appendfsync always (the same durability). */
function targetsTable(rows: RespRow[], http: HttpRun | undefined): string {
  const lines = ['| target | goal | measured |', '| --- | --- | --- |'];
  const ours = TARGETS[0]!.name;
  const always = TARGETS[1]!.name;
  const ratio = (command: string, pipeline: number): string => {
    const a = rows.find((x) => x.target === ours && x.command === command && x.pipeline === pipeline);
    const b = rows.find((x) => x.target === always && x.command === command && x.pipeline === pipeline);
    if (a === undefined || b === undefined) return 'not run';
    const checkpoint = a.checkpointCpuUsPerRequest === undefined ? '' : `; the checkpoint after it (SAVE, not in the rps) ${a.checkpointCpuUsPerRequest.toFixed(1)} µs a SET more`;
    return `${(a.rps / b.rps).toFixed(2)}x (${k(a.rps)} vs ${k(b.rps)} rps); server CPU per request ${(a.serverCpuUsPerRequest / b.serverCpuUsPerRequest).toFixed(2)}x (${a.serverCpuUsPerRequest.toFixed(1)} vs ${b.serverCpuUsPerRequest.toFixed(1)} µs)${checkpoint}`;
  };
  for (const p of PIPELINES) lines.push(`| SET -P ${p} vs redis-server appendfsync always | >= 1.0x | ${ratio('SET', p)} |`);
  for (const p of PIPELINES) lines.push(`| GET -P ${p} vs redis-server appendfsync always | >= 0.5x | ${ratio('GET', p)} |`);
  const a = http?.results.find((r) => r.peer === 'serve-sessiond');
  const b = http?.results.find((r) => r.peer === 'serve-redis-always');
  lines.push(`| HTTP req/s vs connect-redis on redis-server appendfsync always | >= 1.0x | ${a === undefined || b === undefined ? 'not run' : `${(a.reqPerSec / b.reqPerSec).toFixed(2)}x (${k(a.reqPerSec)} vs ${k(b.reqPerSec)} req/s)`} |`);
  return lines.join('\n');
}

function writeCharts(rows: RespRow[], http: HttpRun | undefined): void {
  if (rows.length > 0) {
    const bars = TARGETS.flatMap((t) =>
      PIPELINES.flatMap((p) =>
        ['SET', 'GET'].map((c) => ({ label: `${t.name.replace('redis-server ', 'redis ')} ${c} -P ${p}`, value: rows.find((x) => x.target === t.name && x.pipeline === p && x.command === c)?.rps ?? 0, ours: t.ours })),
      ),
    );
    writeFileSync(join(REPO_ROOT, 'docs/benchmarks-server-resp.svg'), barChartSvg({ title: `redis-benchmark, ${CLIENTS} clients, 200-byte values`, unit: 'requests/s', bars }));
    // The server's CPU per request holds on a loaded machine, where requests/s does not.
    const cpu = TARGETS.flatMap((t) =>
      PIPELINES.flatMap((p) =>
        ['SET', 'GET'].map((c) => ({ label: `${t.name.replace('redis-server ', 'redis ')} ${c} -P ${p}`, value: rows.find((x) => x.target === t.name && x.pipeline === p && x.command === c)?.serverCpuUsPerRequest ?? 0, ours: t.ours })),
      ),
    );
    writeFileSync(join(REPO_ROOT, 'docs/benchmarks-server-cpu.svg'), barChartSvg({ title: 'Server CPU per request (user + system, lower is better)', unit: 'µs/request', bars: cpu }));
  }
  if (http !== undefined) {
    const bars = http.results.map((r) => ({ label: r.name.replace('connect-redis → ', '').replace('redis-server ', 'redis '), value: r.reqPerSec, ours: r.peer === 'serve-sessiond' }));
    writeFileSync(join(REPO_ROOT, 'docs/benchmarks-server-http.svg'), barChartSvg({ title: 'HTTP: express + express-session + connect-redis, 32 connections', unit: 'requests/s', bars }));
  }
}

const log = (s: string): void => console.error(s);

interface ServerBenchResults {
  startedAt: string;
  seconds: number;
  requests: number;
  quick: boolean;
  loadAverageAt: Record<string, number>;
  resp: RespRow[];
  http: HttpRun | undefined;
}

async function runAll(): Promise<{ results: ServerBenchResults; file: string }> {
  const startedAt = new Date();
  const load: Record<string, number> = {};
  let resp: RespRow[] = [];
  let http: HttpRun | undefined;
  if (ONLY.includes('resp')) {
    load.resp = loadavg()[0]!;
    log(`RESP: redis-benchmark -n ${REQUESTS} -c ${CLIENTS}, load ${load.resp.toFixed(2)}`);
    resp = await runResp(log);
  }
  if (ONLY.includes('http')) {
    load.http = loadavg()[0]!;
    const cfg = benchConfig(QUICK);
    const dataDir = mkdtempSync(join(tmpdir(), 'sessiond-bench-server-http-'));
    log(`HTTP: ${cfg.http.rounds} rounds of ${cfg.http.durationSec} s per store, ${cfg.http.connections} connections, load ${load.http.toFixed(2)}`);
    try {
      http = await runHttp(cfg, args.stores?.split(',') ?? Object.keys(SERVER_PEERS), dataDir, [], log);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  const results = { startedAt: startedAt.toISOString(), seconds: (Date.now() - startedAt.getTime()) / 1000, requests: REQUESTS, quick: QUICK, loadAverageAt: load, machine: machineInfo(tmpdir()), resp, http };
  mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
  const file = join(REPO_ROOT, `bench/results/server-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2));
  return { results, file };
}

const { results, file } = args.report !== undefined ? { results: JSON.parse(readFileSync(args.report, 'utf8')) as ServerBenchResults, file: args.report } : await runAll();
const { resp, http } = results;
if (!results.quick) writeCharts(resp, http);
const loads = Object.entries(results.loadAverageAt).map(([w, l]) => `${w} ${l.toFixed(2)}`).join(', ');
console.log(
  [
    `Run of ${results.startedAt} (${results.quick ? 'quick' : 'full'}, ${Math.round(results.seconds)} s, ${results.requests} requests per redis-benchmark run; 1-minute load average at start: ${loads}; results in ${file})`,
    '',
    targetsTable(resp, http),
    '',
    resp.length > 0 ? respTable(resp) : '',
    '',
    http !== undefined ? httpTable(http) : '',
  ].join('\n'),
);
