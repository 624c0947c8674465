/**
 * CPU per request of back mode with sticky routing, in one process without HTTP: the
 * express adapter's store calls a request makes (lock, get, then touch, or set for 10% of
 * them) on two sessiond "servers" in back mode, each session always on the same one, 32
 * sessions at once, on the machine's PostgreSQL (`back-pg`) or Redis (`back-redis`);
 * beside the embedded store (`embedded`, one server) doing the same, and two independent
 * embedded stores (`embedded-2`, each session on one: what a second server costs by itself). process.cpuUsage per
 * request, which the machine's load moves far less than req/s or the HTTP bench
 * (bench/global-http.ts), so two builds can be compared interleaved:
 * `node <dist>/bench/global-back-cpu.js [requests] [back-pg|back-redis|embedded|embedded-2] [req/s]`.
 * The requests are paced at req/s in all (default 1000, about what the HTTP bench serves on
 * a quiet machine; 0: as fast as they go), so that the write-back's per-batch and per-sync
 * costs are shared by as many changes as they are over HTTP, not by the many more an
 * unpaced loop makes within one writeBackMs.
 * back-pg also prints its PostgreSQL backends' CPU per request (/proc, its pools' application_name).
 * With `--cpu-prof`, the profile covers the measured runs and the warm-up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SessiondStore } from '../src/adapters/express.js';
import { call, dropRedisPrefix, expressRequest, type StoreLike } from './lib/express-request.js';
import { BENCH_PG, pgBackendCpuMs } from './lib/pg-backend-cpu.js';

const N = Number(process.argv[2] ?? 10_000);
const kind = process.argv[3] ?? 'back-pg';
const RATE = Number(process.argv[4] ?? 1000);
const SESSIONS = 32;
const REDIS_URL = process.env.SESSIOND_BENCH_REDIS ?? 'redis://127.0.0.1:6379';
const PG = BENCH_PG;
// SESSIOND_BENCH_TAG: the schema / key prefix to use (dropped at the end), e.g. a helper's own `sessiond_<name>_cpu`.
const tag = `${process.env.SESSIOND_BENCH_TAG ?? 'back_cpu'}_${process.pid}`;

const base = mkdtempSync(join(tmpdir(), 'sessiond-back-cpu-'));
const pools: pg.Pool[] = [];
function globalOf(i: number): object {
  // SESSIOND_BENCH_GLOBAL: extra global options (JSON), e.g. `{"pendingKeepMs":0}` to run a build with a change off.
  const common = { app: 'cpu', serverId: `cpu-${i}`, mode: 'back', ...(JSON.parse(process.env.SESSIOND_BENCH_GLOBAL ?? '{}') as object) };
  if (kind === 'back-redis') return { ...common, redis: { url: REDIS_URL }, keyPrefix: `${tag}:` };
  const pool = new pg.Pool({ ...PG, max: 10, application_name: tag }); // so that its backends' CPU can be read
  pool.on('error', () => undefined);
  pools.push(pool);
  return { ...common, postgres: pool, schema: tag };
}
if (!['back-pg', 'back-redis', 'embedded', 'embedded-2'].includes(kind)) throw new Error(`unknown kind ${kind}`);
const servers = kind === 'embedded' ? 1 : 2;
const stores = Array.from({ length: servers }, (_, i) => new SessiondStore(kind.startsWith('embedded') ? { dir: join(base, `s${i}`) } : { dir: join(base, `s${i}`), global: globalOf(i) as never }));
for (const s of stores) await s.engine();

const ids = Array.from({ length: SESSIONS }, (_, i) => `BackCpu${String(i).padStart(6, '0')}xxxxxxxxxxxxxx`);
const storeOf = (c: number): SessiondStore => stores[c % servers]!;
const cookie = { originalMaxAge: null, expires: null, httpOnly: true, path: '/' };
for (const [c, id] of ids.entries()) await call<void>((cb) => storeOf(c).set(id, { cookie, counter: 0 } as never, cb));

function request(c: number, i: number, id: string): Promise<void> {
  const s = storeOf(c);
  return expressRequest(s as unknown as StoreLike, () => s.lock(id), id, i % 10 === 9);
}

async function run(n: number): Promise<string> {
  let left = n;
  const pg0 = kind === 'back-pg' ? await pgBackendCpuMs(tag) : 0;
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  const everyMs = RATE > 0 ? (SESSIONS * 1000) / RATE : 0;
  await Promise.all(
    ids.map(async (id, c) => {
      const from = performance.now() + (everyMs * c) / SESSIONS;
      for (let i = c, k = 0; left-- > 0; i++, k++) {
        const wait = from + k * everyMs - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await request(c, i, id);
      }
    }),
  );
  const cpu = process.cpuUsage(t0);
  const wall = performance.now() - w0;
  const pgUs = kind === 'back-pg' ? `, PostgreSQL backends ${((((await pgBackendCpuMs(tag)) - pg0) * 1000) / n).toFixed(1)} µs/request` : '';
  return `${kind}: ${((cpu.user + cpu.system) / n).toFixed(1)} µs CPU/request (user ${(cpu.user / n).toFixed(1)}, system ${(cpu.system / n).toFixed(1)})${pgUs}, ${(n / (wall / 1000)).toFixed(0)} req/s`;
}

try {
  await run(Math.min(2000, N)); // warm-up
  for (let r = 0; r < 2; r++) console.log(await run(N));
} finally {
  for (const s of stores) await s.close();
  rmSync(base, { recursive: true, force: true });
  if (kind === 'back-redis') await dropRedisPrefix(REDIS_URL, `${tag}:`);
  if (kind === 'back-pg') {
    for (const p of pools) await p.end();
    const c = new pg.Client(PG);
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${tag}" CASCADE`);
    await c.end();
  }
}
