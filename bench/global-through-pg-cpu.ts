/**
 * CPU per request of the through path on PostgreSQL, in one process without HTTP: the express
 * adapter's store calls a request makes (lock, get, then touch, or set for 10% of them) on
 * two sessiond "servers" (each its own pg.Pool, as two app servers have) sharing the
 * machine's PostgreSQL, each request on the other server than the last, 32 sessions at once;
 * beside connect-pg-simple doing the same get + touch/set on two pools. Prints this
 * process's CPU per request (process.cpuUsage, user and system), the PostgreSQL backends'
 * (/proc of the pools' connections, found by application_name; 10 ms ticks) and the
 * statements per request. CPU per request moves far less with the machine's load than req/s,
 * so two builds can be compared interleaved:
 * `node <dist>/bench/global-through-pg-cpu.js [requests] [sessiond|connect-pg-simple|local]`.
 */
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import session from 'express-session';
import { call, expressRequest, runLoops, sessiondStores, type StoreLike } from './lib/express-request.js';

const N = Number(process.argv[2] ?? 4000);
const kind = process.argv[3] ?? 'sessiond';
const SESSIONS = 32;
const URL = process.env.SESSIOND_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `sessiond_through_pg_cpu_${process.pid}`;

const base = mkdtempSync(join(tmpdir(), 'sessiond-through-pg-cpu-'));
let statements = 0;
const pools = [0, 1].map(() => {
  const p = new pg.Pool({ connectionString: URL, max: 10, application_name: schema });
  p.on('error', () => undefined);
  const query = p.query.bind(p) as (...a: unknown[]) => unknown;
  (p as unknown as { query: (...a: unknown[]) => unknown }).query = (...a: unknown[]) => {
    statements++;
    return query(...a);
  };
  return p;
});
const admin = new pg.Pool({ connectionString: URL, max: 1 });

let stores: StoreLike[];
let lock: (s: number, id: string) => Promise<() => void>;
const closers: Array<() => Promise<unknown>> = [];
if (kind === 'sessiond' || kind === 'local') {
  const global = kind === 'sessiond' ? (i: number) => ({ postgres: pools[i], schema, app: 'cpu', serverId: `cpu-${i}` }) : undefined;
  const b = await sessiondStores(base, global);
  ({ stores, lock } = b);
  closers.push(...b.closers);
} else {
  const PgStore = (createRequire(import.meta.url)('connect-pg-simple') as (s: typeof session) => new (o: object) => StoreLike)(session);
  await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  stores = pools.map((pool) => new PgStore({ pool, schemaName: schema, tableName: 'session', createTableIfMissing: true, pruneSessionInterval: false }));
  lock = () => Promise.resolve(() => undefined);
}

/** CPU (ms) of the PostgreSQL backends of this run's pools so far (utime + stime, 10 ms ticks). */
async function backendsMs(): Promise<number> {
  const r = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [schema]);
  let ms = 0;
  for (const { pid } of r.rows) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ms += (Number(f[11]) + Number(f[12])) * 10;
    } catch {
      // the backend exited
    }
  }
  return ms;
}

const ids = Array.from({ length: SESSIONS }, (_, i) => `ThroughPgCpu${String(i).padStart(6, '0')}xxxxxxxxx`);
const cookie = { originalMaxAge: 86_400_000, expires: new Date(Date.now() + 86_400_000), httpOnly: true, path: '/' };
for (const id of ids) await call<void>((cb) => stores[0]!.set(id, { cookie, counter: 0 }, cb));

function request(i: number, id: string): Promise<void> {
  return expressRequest(stores[i % 2]!, () => lock(i % 2, id), id, i % 10 === 9);
}

async function run(n: number): Promise<string> {
  const s0 = statements;
  const b0 = await backendsMs();
  const { perRequest, wallMs } = await runLoops(ids, n, request);
  const backend = (await backendsMs()) - b0;
  return `${kind}: ${perRequest}, backends ${((backend * 1000) / n).toFixed(0)} µs/request, ${((statements - s0) / n).toFixed(2)} statements/request, ${(n / (wallMs / 1000)).toFixed(0)} req/s`;
}

try {
  await run(Math.min(2000, N)); // warm-up
  for (let r = 0; r < 2; r++) console.log(await run(N));
} finally {
  for (const close of closers) await close();
  for (const p of pools) await p.end();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
  rmSync(base, { recursive: true, force: true });
}
