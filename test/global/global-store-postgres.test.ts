/** The global store contract on PostgreSQL, with both row allocations (kind: contract, real PostgreSQL). */
import { globalStoreContract } from './global-store-contract.js';
import { pgMissing, PgTestSchema } from './pg-harness.js';
import type { RowAllocation } from '../../src/global/postgres/pg-context.js';

for (const rowAllocation of ['blank-records', 'insert'] as RowAllocation[]) {
  globalStoreContract(`postgres (${rowAllocation})`, async () => {
    if ((await pgMissing()) !== undefined) return undefined;
    const db = new PgTestSchema();
    return {
      store: (app = 'app') => db.store({ app, rowAllocation }),
      expireLease: (serverId) => db.expireLease(serverId),
      teardown: () => db.drop(),
    };
  });
}
