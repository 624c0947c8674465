/**
 * Row allocation of the PostgreSQL global store: blank records (the seed's design) beside
 * INSERT ... ON CONFLICT / DELETE, under the same load: `workers` concurrent loops of
 * create → write → destroy (a session's whole life) on one PostgreSQL, for `seconds` per
 * round, rounds alternating. Each round uses a fresh schema, dropped at the end.
 * Run: npx tsc -p tsconfig.json && node dist/bench/global-rows.js [seconds] [workers] [rounds]
 */
import pg from 'pg';
import { PostgresGlobalStore } from '../src/global/postgres/postgres-global-store.js';
import type { RowAllocation } from '../src/global/postgres/pg-context.js';

const url = process.env.SESSIOND_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const [seconds = 3, workers = 16, rounds = 2] = process.argv.slice(2).map(Number);

async function round(allocation: RowAllocation, r: number): Promise<number> {
  const schema = `sessiond_bench_${process.pid}_${r}_${allocation.replace('-', '_')}`;
  const store = await PostgresGlobalStore.create({ postgres: { connectionString: url }, app: 'bench', schema, rowAllocation: allocation, blankBatch: 256, poolMax: workers, sessionTtlMs: 3_600_000, applicationName: 'sessiond-bench' });
  try {
    await store.migrate();
    const me = await store.acquireLease('bench', 600_000);
    const stopAt = Date.now() + seconds! * 1000;
    let lives = 0;
    await Promise.all(
      Array.from({ length: workers! }, async (_, w) => {
        for (let i = 0; Date.now() < stopAt; i++) {
          const id = `bench${w}x${i}xxxxxxxxxxxxxxxxx`;
          const now = Date.now();
          const rec = { attrs: '"user"\u0001"u"', createdAtMs: now, lastAccessAtMs: now, expiresAtMs: now + 3_600_000, maxInactiveMs: 0 };
          await store.create(me, id, rec);
          await store.write(me, id, 1, { ...rec, attrs: '"user"\u0001"v"' }, true);
          await store.destroy(me, id, 2);
          lives++;
        }
      }),
    );
    return lives / seconds!;
  } finally {
    await store.close();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  }
}

const results: Record<string, number[]> = { 'blank-records': [], insert: [] };
for (let r = 0; r < rounds!; r++) {
  for (const a of (r % 2 === 0 ? ['blank-records', 'insert'] : ['insert', 'blank-records']) as RowAllocation[]) {
    results[a]!.push(await round(a, r));
  }
}
for (const [a, v] of Object.entries(results)) console.log(`${a.padEnd(14)} session lives/s (create+write+destroy): ${v.map((x) => x.toFixed(0)).join(', ')}`);
