/**
 * The cost of the global principal index (docs/failover.md §Sessions of a principal): one
 * create + write + destroy of a new session naming a principal beside one naming none, on
 * PostgreSQL (insert) and standalone Redis, in interleaved rounds on the same schema or
 * prefix. Prints the median µs of one create + write + destroy, and of one `sessionsOf`.
 * Run: npx tsc -p tsconfig.json && CI=true node dist/bench/global-principal.js [sessions per round]
 */
import { performance } from 'node:perf_hooks';
import type { GlobalStore, ServerLease } from '../src/global/global-store.js';
import { PgTestSchema } from '../test/global/pg-harness.js';
import { RedisTestPrefix } from '../test/global/redis-harness.js';

const N = Number(process.argv[2] ?? 500);
const ROUNDS = 4;
let k = 0;

async function round(s: GlobalStore, lease: ServerLease, principal: string): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const id = `PrinBench${++k}xxxxxxxxxxxxxxx`;
    const w = { attrs: 'x'.repeat(200), createdAtMs: 1, lastAccessAtMs: 1, expiresAtMs: Date.now() + 3_600_000, maxInactiveMs: 0, principal };
    await s.create(lease, id, w);
    await s.write(lease, id, 1, w, true);
    await s.destroy(lease, id, 2);
  }
  return ((performance.now() - t0) * 1000) / N;
}

/** sessionsOf of a principal with 10 live sessions, N times. */
async function listing(s: GlobalStore, lease: ServerLease): Promise<number> {
  const p = `lister${k}`;
  for (let i = 0; i < 10; i++) await s.create(lease, `PrinList${++k}xxxxxxxxxxxxxx`, { attrs: 'x', createdAtMs: 1, lastAccessAtMs: 1, expiresAtMs: Date.now() + 3_600_000, maxInactiveMs: 0, principal: p });
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await s.sessionsOf(p, 100);
  return ((performance.now() - t0) * 1000) / N;
}

const median = (x: number[]): string => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)]!.toFixed(0);

async function compare(name: string, s: GlobalStore): Promise<void> {
  await s.migrate();
  const lease = await s.acquireLease('bench-principal', 600_000);
  const r = { with: [] as number[], none: [] as number[], list: [] as number[] };
  for (let i = 0; i < ROUNDS; i++) {
    r.with.push(await round(s, lease, `user${i}`));
    r.none.push(await round(s, lease, ''));
  }
  r.list.push(await listing(s, lease));
  console.log(`${name}: µs per create + write + destroy (median of ${ROUNDS} interleaved rounds of ${N}): principal ${median(r.with)}, none ${median(r.none)}; sessionsOf (10 sessions) ${median(r.list)}`);
}

const db = new PgTestSchema();
try {
  await compare('PostgreSQL insert', await db.store({ rowAllocation: 'insert' }));
} finally {
  await db.drop();
}
const r = RedisTestPrefix.standalone();
try {
  await compare('Redis', await r.store());
} finally {
  await r.drop();
}
