import { readFileSync } from 'node:fs';
import pg from 'pg';

/** The machine's PostgreSQL, as the benches reach it. */
export const BENCH_PG = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' };

/**
 * CPU time (ms) the PostgreSQL backends whose connections carry `applicationName` have used
 * so far (utime + stime from /proc); 0 where /proc or the database is out of reach. Backends
 * that exit mid-run are missed (the benches' pools keep theirs).
 */
export async function pgBackendCpuMs(applicationName: string): Promise<number> {
  const c = new pg.Client(BENCH_PG);
  try {
    await c.connect();
    const r = await c.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
    let ticks = 0;
    for (const { pid } of r.rows) {
      try {
        const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
      } catch {
        // the backend exited, or /proc is not there
      }
    }
    return ticks * 10; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  } finally {
    await c.end().catch(() => undefined);
  }
}
