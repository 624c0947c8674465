/**
 * The cost of the global tombstone (docs/failover.md §Tombstones): create + destroy of new
 * sessions with the default `tombstoneMs` beside `tombstoneMs: 0` (no tombstone), on
 * PostgreSQL (both row allocations) and standalone Redis, in interleaved rounds on the same
 * schema or prefix. Prints the median µs of one create + destroy.
 * Run: npx tsc -p tsconfig.json && CI=true node dist/bench/global-tombstone.js [pairs per round]
 */
import { performance } from 'node:perf_hooks';
import type { GlobalStore, ServerLease } from '../src/global/global-store.js';
import { PgTestSchema } from '../test/global/pg-harness.js';
import { RedisTestPrefix } from '../test/global/redis-harness.js';

const N = Number(process.argv[2] ?? 500);
const ROUNDS = 4;
const w = { attrs: 'x'.repeat(200), createdAtMs: 1, lastAccessAtMs: 1, expiresAtMs: Date.now() + 3_600_000, maxInactiveMs: 0 };
let k = 0;

async function round(s: GlobalStore, lease: ServerLease): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const id = `TombBench${++k}xxxxxxxxxxxxxxx`;
    await s.create(lease, id, w);
    await s.destroy(lease, id, 1);
  }
  return ((performance.now() - t0) * 1000) / N;
}

const median = (x: number[]): string => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)]!.toFixed(0);

async function compare(name: string, make: (tombstoneMs: number | undefined) => Promise<GlobalStore>): Promise<void> {
  const [a, b] = [await make(undefined), await make(0)];
  await a.migrate();
  const [la, lb] = [await a.acquireLease('bench-tomb', 600_000), await b.acquireLease('bench-none', 600_000)];
  const r = { tomb: [] as number[], none: [] as number[] };
  for (let i = 0; i < ROUNDS; i++) {
    r.tomb.push(await round(a, la));
    r.none.push(await round(b, lb));
  }
  console.log(`${name}: µs per create + destroy (median of ${ROUNDS} interleaved rounds of ${N}): tombstone ${median(r.tomb)}, none ${median(r.none)}`);
}

for (const rowAllocation of ['insert', 'blank-records'] as const) {
  const db = new PgTestSchema();
  try {
    await compare(`PostgreSQL ${rowAllocation}`, (tombstoneMs) => db.store({ rowAllocation, blankBatch: 256, tombstoneMs }));
  } finally {
    await db.drop();
  }
}
const r = RedisTestPrefix.standalone();
try {
  await compare('Redis', (tombstoneMs) => r.store({ tombstoneMs }));
} finally {
  await r.drop();
}
