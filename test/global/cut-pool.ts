import pg from 'pg';
import type { PgPool, PgPoolClient, PgQueryConfig, PgResult } from '../../src/global/postgres/pg-types.js';
import { PG_URL } from './pg-harness.js';

/**
 * A pool whose statements fail while `cut` is set, as a killed or cut-off process's would
 * (its listening connection stays until closed). Shared by the back-mode, stale-turn and
 * inheritance-grace tests.
 */
export class CutPool implements PgPool {
  cut = false;
  readonly pool = new pg.Pool({ connectionString: PG_URL, max: 4 });
  private readonly gone = (): Promise<never> => Promise.reject(Object.assign(new Error('connection cut by the test'), { code: 'ECONNRESET' }));
  query<R>(text: string | PgQueryConfig, values?: unknown[]): Promise<PgResult<R>> {
    if (this.cut) return this.gone();
    return (typeof text === 'string' ? this.pool.query(text, values) : this.pool.query(text)) as unknown as Promise<PgResult<R>>;
  }
  connect(): Promise<PgPoolClient> {
    return this.cut ? this.gone() : (this.pool.connect() as unknown as Promise<PgPoolClient>);
  }
  end(): Promise<void> {
    return this.pool.end();
  }
}
