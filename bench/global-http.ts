/**
 * HTTP through 2 servers sharing PostgreSQL: sessiond `global` in through mode (no sticky
 * routing) and in back mode (sticky, as it expects, and alternating, its worst case: every
 * request a hand-over) beside connect-pg-simple; the same on the machine's Redis: sessiond
 * `global: { redis }` in both modes beside connect-redis (own key prefix, deleted after); and
 * the embedded store for reference, as one server (`sessiond-local`) and as two independent
 * ones with sticky routing (`sessiond-local:sticky`: the back-mode kinds' fleet and routing
 * without any global work, what issues 10 and 11's back >= 0.9x compares with, see
 * docs/benchmarks.md "Back mode over HTTP").
 * 32 sessions, each a loop of requests one after another alternating between the servers
 * (fetch, keep-alive), 90% GET /counter, 10% POST /increment. Prints req/s and PostgreSQL
 * statements (or Redis commands) per request, and at the end each back-mode sticky kind's
 * ratio to both embedded references, per round.
 * Run: npx tsc -p tsconfig.json && node dist/bench/global-http.js [seconds] [kind,kind...] [rounds]
 * (rounds: the kinds run that many times over, in order, so a ratio compares runs minutes apart at most).
 * Also prints the app servers' CPU per request (process.cpuUsage: the database's own CPU is
 * not in it), a figure the machine's load moves far less than req/s. With
 * SESSIOND_BENCH_CPU_PROF=<dir> each server profiles the measured run (not the warm-up) and is
 * stopped with SIGTERM so that it writes its profile (`node dist/bench/profile-top.js <dir>`).
 * SESSIOND_BENCH_GLOBAL='{"pendingKeepMs":0}' (JSON) adds global options to the sessiond kinds.
 * SESSIOND_BENCH_WARMUP_S (default 5; 0 for none) runs the load that long before the measured run, unmeasured (its
 * CPU is printed on its own line): a fresh server process spends its first seconds compiling
 * (JIT), 2-3x the CPU per request of its steady state, and a two-server kind pays that twice
 * over half the requests each (docs/benchmarks.md "Two embedded servers against one").
 * For the Redis kinds it also prints redis-server's share over the measured run (bench/lib/redis-window.ts):
 * its CPU per request (when it runs on this machine), socket reads and writes, bytes, and each command's
 * calls and in-call µs; every client's commands count, so point SESSIOND_BENCH_REDIS at a private one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';
import { pgBackendCpuMs } from './lib/pg-backend-cpu.js';
import { redisSnapshot, redisWindow, type RedisSnapshot } from './lib/redis-window.js';
const SERVER = fileURLToPath(new URL('./global-http-server.js', import.meta.url));
const seconds = Number(process.argv[2] ?? 5);
const REDIS_URL = process.env.SESSIOND_BENCH_REDIS ?? 'redis://127.0.0.1:6379';
const CONNECTIONS = 32;
/**
 * SESSIOND_BENCH_WARMUP_S: seconds of the same load, not measured, before the measured run, so
 * that the figures are the servers' steady state rather than their JIT warm-up (which every
 * server process pays once, so a two-server kind pays it twice over fewer requests each).
 * Default 5 s for every kind alike: a deployment runs warm; 0 measures from the first request.
 */
const WARMUP_S = Number(process.env.SESSIOND_BENCH_WARMUP_S ?? 5);

function start(kind: string, dir: string, serverId: string, schema: string): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER, kind, dir, serverId, schema], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout!.on('data', (d: Buffer) => {
      const m = /ready (\d+)/.exec(d.toString());
      if (m) resolve({ child, url: `http://127.0.0.1:${m[1]}` });
    });
    child.on('exit', (c) => reject(new Error(`${kind} server exited ${c}`)));
  });
}

/** One loop per session: its requests one after another, alternating between the servers (no sticky routing) or always on one. */
async function run(urls: string[], cookies: string[], sticky: boolean, forS = seconds): Promise<{ total: number; errors: number; p99: number }> {
  const stopAt = Date.now() + forS * 1000;
  const latencies: number[] = [];
  let errors = 0;
  await Promise.all(
    cookies.map(async (cookie, c) => {
      for (let i = c; Date.now() < stopAt; i++) {
        const url = urls[(sticky ? c : i) % urls.length]!;
        const t0 = performance.now();
        const r = await fetch(i % 10 === 9 ? `${url}/increment` : `${url}/counter`, { method: i % 10 === 9 ? 'POST' : 'GET', headers: { cookie } }).catch(() => undefined);
        if (r === undefined || r.status !== 200) errors++;
        await r?.text();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  latencies.sort((x, y) => x - y);
  return { total: latencies.length, errors, p99: Math.round(latencies[Math.floor(latencies.length * 0.99)] ?? 0) };
}

interface Result {
  reqPerS: number;
  cpuUsPerReq: number;
}

async function bench(kind: string, servers: number, sticky = false): Promise<Result> {
  const base = mkdtempSync(join(tmpdir(), 'sessiond-ghttp-'));
  const schema = `sessiond_ghttp_${process.pid}_${kind.replaceAll('-', '_')}`;
  const procs = [];
  try {
    for (let s = 0; s < servers; s++) procs.push(await start(kind, join(base, `s${s}`), `bench-${s}`, schema));
    const cookies: string[] = [];
    for (let c = 0; c < CONNECTIONS; c++) {
      const r = await fetch(`${procs[sticky ? c % procs.length : 0]!.url}/login`, { method: 'POST' });
      cookies.push(r.headers.get('set-cookie')!.split(';')[0]!);
    }
    const warm = WARMUP_S > 0 ? await run(procs.map((p) => p.url), cookies, sticky, WARMUP_S) : undefined;
    const warmStats = warm === undefined ? undefined : await serverStats(procs);
    for (const p of procs) await fetch(`${p.url}/stats/reset`, { method: 'POST' });
    const pgFrom = await pgBackendCpuMs(`ghttp-${schema}`);
    const redisFrom: RedisSnapshot | undefined = kind.includes('redis') ? await redisSnapshot(REDIS_URL) : undefined;
    const { total, errors, p99 } = await run(procs.map((p) => p.url), cookies, sticky);
    const redisTo = redisFrom === undefined ? undefined : await redisSnapshot(REDIS_URL);
    const pgCpuMs = (await pgBackendCpuMs(`ghttp-${schema}`)) - pgFrom;
    const { statements, cpuMs, userMs, wokenByRelease, wokenByTimer, byCommand } = await serverStats(procs);
    const unit = kind.includes('redis') ? 'Redis commands' : 'PostgreSQL statements';
    console.log(`${(kind + (sticky ? ' sticky' : '')).padEnd(27)} ${servers} server(s): ${(total / seconds).toFixed(0).padStart(6)} req/s, p99 ${p99} ms, ${(statements / total).toFixed(2)} ${unit}/request, app servers' CPU ${((cpuMs * 1000) / total).toFixed(0)} µs/request (user ${((userMs * 1000) / total).toFixed(0)})${pgCpuMs > 0 ? `, PostgreSQL backends' CPU ${((pgCpuMs * 1000) / total).toFixed(0)} µs/request` : ''}, ${errors} errors`);
    if (warm !== undefined && warmStats !== undefined) console.log(`  warm-up (${WARMUP_S} s, not in the figures above): ${(warm.total / WARMUP_S).toFixed(0)} req/s, app servers' CPU ${((warmStats.cpuMs * 1000) / warm.total).toFixed(0)} µs/request (the logins and the first requests of each process)`);
    if (wokenByRelease + wokenByTimer > 0) console.log(`  hand-over waits per request: woken by the release message ${(wokenByRelease / total).toFixed(2)}, by the waiter's timer ${(wokenByTimer / total).toFixed(2)}`);
    if (redisFrom !== undefined && redisTo !== undefined) console.log(redisWindow(redisFrom, redisTo, total));
    if (Object.keys(byCommand).length > 0) console.log('  per request: ' + Object.entries(byCommand).map(([k, v]) => `${k} ${(v / total).toFixed(2)}`).join(', '));
    return { reqPerS: total / seconds, cpuUsPerReq: (cpuMs * 1000) / total };
  } finally {
    for (const p of procs) p.child.kill(process.env.SESSIOND_BENCH_CPU_PROF === undefined ? 'SIGKILL' : 'SIGTERM');
    if (process.env.SESSIOND_BENCH_CPU_PROF !== undefined) await Promise.all(procs.map((p) => new Promise((r) => (p.child.exitCode !== null ? r(0) : p.child.once('exit', r)))));
    rmSync(base, { recursive: true, force: true });
    if (kind.includes('redis')) await dropRedisPrefix(schema);
    else await dropPgSchema(schema);
  }
}

interface ServerStats {
  statements: number;
  byCommand: Record<string, number>;
  cpuMs: number;
  userMs: number;
  wokenByRelease: number;
  wokenByTimer: number;
}

/** Every app server's counters since its last /stats/reset (or its start), summed. */
async function serverStats(procs: Array<{ url: string }>): Promise<ServerStats> {
  const sum: ServerStats = { statements: 0, byCommand: {}, cpuMs: 0, userMs: 0, wokenByRelease: 0, wokenByTimer: 0 };
  for (const p of procs) {
    const st = (await (await fetch(`${p.url}/stats`)).json()) as ServerStats;
    sum.statements += st.statements;
    sum.cpuMs += st.cpuMs;
    sum.userMs += st.userMs;
    sum.wokenByRelease += st.wokenByRelease;
    sum.wokenByTimer += st.wokenByTimer;
    for (const [k, v] of Object.entries(st.byCommand)) sum.byCommand[k] = (sum.byCommand[k] ?? 0) + v;
  }
  return sum;
}

/** Deletes the run's keys (the machine's Redis is shared: only keys under our prefix). */
async function dropRedisPrefix(prefix: string): Promise<void> {
  const r = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await Promise.all(keys.map((k) => r.del(k)));
  } while (cursor !== '0');
  await r.quit();
}

async function dropPgSchema(schema: string): Promise<void> {
  const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await c.query(`DROP TABLE IF EXISTS "${schema}"`);
  await c.end();
}

// A kind ending in `:sticky` sends each session's requests to one server (back mode expects it);
// `sessiond-local:sticky` runs two independent embedded servers (what two processes cost without any global work).
const DEFAULT_KINDS =
  'sessiond-global,sessiond-global-back:sticky,sessiond-global-back,connect-pg-simple,sessiond-global-redis,sessiond-global-redis-back:sticky,sessiond-global-redis-back,connect-redis,sessiond-local,sessiond-local:sticky';
// An empty kinds argument ('') is the default list too, so that rounds can be given alone.
const kinds = (process.argv[3] === undefined || process.argv[3] === '' ? DEFAULT_KINDS : process.argv[3]).split(',');
const rounds = Number(process.argv[4] ?? 1);
const ratios: string[] = [];
for (let round = 1; round <= rounds; round++) {
  const results = new Map<string, Result>();
  for (const k of kinds) {
    const [kind, how] = k.split(':') as [string, string | undefined];
    results.set(k, await bench(kind, kind === 'sessiond-local' && how !== 'sticky' ? 1 : 2, how === 'sticky'));
  }
  for (const back of ['sessiond-global-back:sticky', 'sessiond-global-redis-back:sticky']) {
    const b = results.get(back);
    if (b === undefined) continue;
    const against = (ref: string): string => {
      const r = results.get(ref);
      return r === undefined ? '' : `, ${(b.reqPerS / r.reqPerS).toFixed(2)}x ${ref} req/s (CPU/request ${(b.cpuUsPerReq / r.cpuUsPerReq).toFixed(2)}x)`;
    };
    const refs = against('sessiond-local:sticky') + against('sessiond-local');
    if (refs !== '') ratios.push(`round ${round}: ${back}${refs}`);
  }
}
for (const r of ratios) console.log(r);
