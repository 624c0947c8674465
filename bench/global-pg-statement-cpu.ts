/**
 * The PostgreSQL backend's CPU per statement of the through path, alone: one connection, two
 * servers' leases, 32 sessions, each request a turn on the other server than the last, then
 * a touch that gives it back (90%) or a write (10%), one after another (no batching). The
 * backend's CPU is read from /proc/<pid>/stat (10 ms ticks, so use a few thousand requests),
 * which the machine's load moves far less than req/s. `extraSessions` live rows of other
 * sessions are added first: a statement whose plan reads more than its own rows shows it.
 * Run: node dist/bench/global-pg-statement-cpu.js [requests] [extraSessions]; to compare a
 * build, copy the compiled file into its dist/bench/ (it imports ../src/).
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { PostgresGlobalStore } from '../src/global/postgres/postgres-global-store.js';
import type { GlobalWrite } from '../src/global/global-store.js';
import type { PgPool } from '../src/global/postgres/pg-types.js';

const N = Number(process.argv[2] ?? 3200);
const EXTRA = Number(process.argv[3] ?? 0);
const URL = process.env.SESSIOND_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `sessiond_stmt_cpu_${process.pid}`;
const pool = new pg.Pool({ connectionString: URL, max: 1, application_name: schema });
const pid = (await pool.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]!.p;
/** The backend's CPU so far, ms. */
const backendMs = (): number => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};
const store = await PostgresGlobalStore.create({ postgres: pool as unknown as PgPool, app: 'cpu', schema, rowAllocation: 'insert', blankBatch: 16, poolMax: 1, sessionTtlMs: 3_600_000, applicationName: schema });
try {
  await store.migrate();
  const leases = [await store.acquireLease('cpu-a', 600_000), await store.acquireLease('cpu-b', 600_000)];
  const now = Date.now();
  const w = (counter: number): GlobalWrite => ({ attrs: `"counter"\u0001${counter}`, createdAtMs: now, lastAccessAtMs: Date.now(), expiresAtMs: 0, maxInactiveMs: 86_400_000 });
  await pool.query(
    `INSERT INTO "${schema}".sessions (app, sid, attrs, created_ms, access_ms, inactive_ms, until_ms, owner, owner_epoch, version)
     SELECT 'cpu', 'extra' || g, ''::bytea, $1::bigint, $1::bigint, 86400000, $1::bigint + 86400000, 'cpu-a', $2::bigint, 1 FROM generate_series(1, $3::int) g`,
    [now, leases[0]!.epoch, EXTRA],
  );
  const ids = Array.from({ length: 32 }, (_, i) => `StmtCpu${String(i).padStart(6, '0')}xxxxxxxxxxxx`);
  for (const id of ids) await store.create(leases[0]!, id, w(0));
  const version = new Map(ids.map((id) => [id, 1]));
  const spent = { turn: 0, touch: 0, write: 0 };
  const count = { turn: 0, touch: 0, write: 0 };
  const app0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const id = ids[i % 32]!;
    const lease = leases[Math.floor(i / 32) % 2]!;
    let t0 = backendMs();
    if ((await store.takeTurn(lease, id, 10_000, version.get(id)!)) === undefined) throw new Error('turn busy');
    spent.turn += backendMs() - t0;
    count.turn++;
    t0 = backendMs();
    const kind = i % 10 === 9 ? 'write' : 'touch';
    const outcome = kind === 'write' ? await store.write(lease, id, version.get(id)!, w(i), true) : await store.touch(lease, id, Date.now(), undefined, true, 1000);
    if (outcome !== 'ok') throw new Error(`${kind}: ${outcome}`);
    if (kind === 'write') version.set(id, version.get(id)! + 1);
    spent[kind] += backendMs() - t0;
    count[kind]++;
  }
  const app = process.cpuUsage(app0);
  const per = (k: keyof typeof spent): string => ((spent[k] * 1000) / count[k]).toFixed(0);
  console.log(`backend CPU µs/statement: turn ${per('turn')}, touch ${per('touch')}, write ${per('write')}; per request ${(((spent.turn + spent.touch + spent.write) * 1000) / N).toFixed(0)}; this process ${((app.user + app.system) / N).toFixed(0)} µs/request (${N} requests, ${EXTRA} other sessions)`);
} finally {
  await store.close();
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
}
