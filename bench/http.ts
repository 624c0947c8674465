import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { BenchConfig } from './bench-config.js';
import type { HttpServerPayload, HttpServerResult } from './http-server.js';
import type { Autocannon, AutocannonClient, AutocannonResult } from './lib/autocannon-types.js';
import { BenchChild } from './lib/bench-child.js';
import type { LoopDelaySummary } from './lib/loop-delay.js';
import { Prng } from '../src/util/prng.js';

const require = createRequire(import.meta.url);

export interface HttpResult {
  peer: string;
  name: string;
  durability: string;
  versions: Record<string, string>;
  connections: number;
  seconds: number;
  requests: number;
  /** the median round's; every round's is in roundsReqPerSec */
  reqPerSec: number;
  roundsReqPerSec: number[];
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  increments: { acknowledged: number; counted: number; lost: number; unacknowledgedApplied: number };
  serverRssPeakBytes: number;
  /** the server process's CPU time (user + system, every thread) per request, logins and read-back included */
  serverCpuMsPerRequest: number;
  /** the system (kernel) part of it: syscalls, fdatasync, socket I/O */
  serverCpuSystemMsPerRequest?: number;
  storeServerRssPeakBytes?: number;
  /** the server's event-loop delay over the round (the median round's after merging; maxMs is the largest of all rounds) */
  loopDelay?: LoopDelaySummary;
  /** the peer's own server process's CPU time (redis-server, sessiond serve) per request */
  storeServerCpuMsPerRequest?: number;
}

export interface HttpRun {
  results: HttpResult[];
  failures: { peer: string; error: string }[];
}

const READ_SHARE = 0.9;
const HTTP_TIMEOUT_S = 10;

/** Workload 3: express + express-session in a child process, autocannon here, one session per connection. */
export async function runHttp(cfg: BenchConfig, peers: string[], dataDir: string, execArgv: string[], log: (s: string) => void): Promise<HttpRun> {
  const rounds = new Map<string, HttpResult[]>();
  const failures: HttpRun['failures'] = [];
  // Rounds go round-robin, each in a rotated order, so drift in the machine's load hits every store alike.
  for (let round = 0; round < cfg.http.rounds; round++) {
    const order = peers.map((_, i) => peers[(i + round) % peers.length]!);
    for (const peer of order) {
      if (failures.some((f) => f.peer === peer)) continue;
      try {
        const r = await httpRound(cfg, peer, join(dataDir, `http-${peer}-${round}`), execArgv);
        rounds.set(peer, [...(rounds.get(peer) ?? []), r]);
        log(`  http ${peer} round ${round + 1}/${cfg.http.rounds}: ${Math.round(r.reqPerSec)} req/s, server CPU ${r.serverCpuMsPerRequest.toFixed(3)} ms/req, loop delay p99 ${r.loopDelay?.p99Ms.toFixed(1)} max ${r.loopDelay?.maxMs.toFixed(1)} ms, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, errors ${r.errors + r.timeouts + r.non2xx}, lost updates ${r.increments.lost}`);
      } catch (e) {
        failures.push({ peer, error: (e as Error).message });
        log(`  http ${peer}: FAILED ${(e as Error).message.split('\n')[0]}`);
      }
    }
  }
  const results = peers.flatMap((peer) => {
    const rs = rounds.get(peer);
    return rs === undefined || failures.some((f) => f.peer === peer) ? [] : [mergeRounds(rs)];
  });
  return { results, failures };
}

/** The round with the median req/s stands for the store; errors and lost updates add up over all rounds. */
function mergeRounds(rs: HttpResult[]): HttpResult {
  const sorted = [...rs].sort((a, b) => a.reqPerSec - b.reqPerSec);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const sum = (f: (r: HttpResult) => number): number => rs.reduce((n, r) => n + f(r), 0);
  return {
    ...median,
    roundsReqPerSec: rs.map((r) => r.reqPerSec),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    non2xx: sum((r) => r.non2xx),
    increments: {
      acknowledged: sum((r) => r.increments.acknowledged),
      counted: sum((r) => r.increments.counted),
      lost: sum((r) => r.increments.lost),
      unacknowledgedApplied: sum((r) => r.increments.unacknowledgedApplied),
    },
    serverRssPeakBytes: Math.max(...rs.map((r) => r.serverRssPeakBytes)),
    serverCpuMsPerRequest: sum((r) => r.serverCpuMsPerRequest) / rs.length,
    serverCpuSystemMsPerRequest: sum((r) => r.serverCpuSystemMsPerRequest ?? 0) / rs.length,
    ...(median.loopDelay !== undefined ? { loopDelay: { ...median.loopDelay, maxMs: Math.max(...rs.map((r) => r.loopDelay?.maxMs ?? 0)) } } : {}),
    ...(rs.every((r) => r.storeServerCpuMsPerRequest !== undefined) ? { storeServerCpuMsPerRequest: sum((r) => r.storeServerCpuMsPerRequest!) / rs.length } : {}),
  };
}

/** One store, one round: a fresh server process, 32 fresh sessions, autocannon, counters read back. */
async function httpRound(cfg: BenchConfig, peer: string, dir: string, execArgv: string[]): Promise<HttpResult> {
  const payload: HttpServerPayload = { peer, dir, seed: cfg.seed, sessiondOptions: cfg.sessiondOptions, sessiondSerialize: cfg.http.sessiondSerialize, skipTouch: cfg.http.skipTouch === true };
  const child = BenchChild.start('http-server', payload, { waitMsMax: cfg.childStepMsMax, execArgv });
  try {
    const { port } = await child.next<{ type: string; port: number }>('listening');
    const base = `http://127.0.0.1:${port}`;
    const cookies = await login(base, cfg.http.connections);
    const { result, acked } = await cannon(base, cookies, cfg);
    const counted = await readCounters(base, cookies);
    child.send({ type: 'stop' });
    const server = await child.result<HttpServerResult>();
    let lost = 0;
    let extra = 0;
    cookies.forEach((_, i) => {
      lost += Math.max(0, acked[i]! - counted[i]!);
      extra += Math.max(0, counted[i]! - acked[i]!);
    });
    return {
      peer,
      name: server.name,
      durability: server.durability,
      versions: server.versions,
      connections: cfg.http.connections,
      seconds: result.duration,
      requests: result.requests.total,
      reqPerSec: result.requests.total / result.duration,
      roundsReqPerSec: [],
      latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
      errors: result.errors,
      timeouts: result.timeouts,
      non2xx: result.non2xx,
      increments: { acknowledged: acked.reduce((a, b) => a + b, 0), counted: counted.reduce((a, b) => a + b, 0), lost, unacknowledgedApplied: extra },
      serverRssPeakBytes: server.rssPeakBytes,
      serverCpuMsPerRequest: (server.cpuUserMs + server.cpuSystemMs) / (result.requests.total + 2 * cookies.length),
      serverCpuSystemMsPerRequest: server.cpuSystemMs / (result.requests.total + 2 * cookies.length),
      loopDelay: server.loopDelay,
      ...(server.serverRssPeakBytes !== undefined ? { storeServerRssPeakBytes: server.serverRssPeakBytes } : {}),
      ...(server.storeServerCpuMs !== undefined ? { storeServerCpuMsPerRequest: server.storeServerCpuMs / (result.requests.total + 2 * cookies.length) } : {}),
    };
  } finally {
    await child.kill();
  }
}

/** One session per connection: its cookie (name=value) from POST /login. */
async function login(base: string, count: number): Promise<string[]> {
  const cookies: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${base}/login`, { method: 'POST' });
    const set = res.headers.get('set-cookie');
    await res.arrayBuffer();
    if (res.status !== 200 || set === null) throw new Error(`login ${i}: status ${res.status}, set-cookie ${String(set)}`);
    cookies.push(set.split(';')[0]!);
  }
  return cookies;
}

/** The counter each session ends with, read back after the run. */
async function readCounters(base: string, cookies: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const cookie of cookies) {
    const res = await fetch(`${base}/counter`, { headers: { cookie } });
    const body = (await res.json()) as { counter: number | null };
    out.push(body.counter ?? -1);
  }
  return out;
}

function cannon(base: string, cookies: string[], cfg: BenchConfig): Promise<{ result: AutocannonResult; acked: number[] }> {
  const autocannon = require('autocannon') as Autocannon;
  const acked = cookies.map(() => 0);
  let nextClient = 0;
  const setupClient = (client: AutocannonClient): void => {
    const i = nextClient++ % cookies.length;
    const prng = new Prng(cfg.seed * 1000 + i);
    const headers = { cookie: cookies[i]! };
    let increment = false;
    client.setRequests([
      {
        method: 'GET',
        path: '/counter',
        headers,
        setupRequest: (req) => {
          increment = prng.float() >= READ_SHARE;
          return { ...req, method: increment ? 'POST' : 'GET', path: increment ? '/increment' : '/counter', headers };
        },
        onResponse: (status) => {
          if (increment && status === 200) acked[i]!++;
        },
      },
    ]);
  };
  return new Promise((resolve, reject) => {
    autocannon(
      { url: base, connections: cookies.length, pipelining: 1, duration: cfg.http.durationSec, timeout: HTTP_TIMEOUT_S, setupClient },
      (err, result) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve({ result, acked })),
    );
  });
}
