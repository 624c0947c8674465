/** The global store contract on standalone Redis (kind: contract, the machine's Redis on 127.0.0.1:6379, own key prefix). */
import { globalStoreContract } from './global-store-contract.js';
import { redisMissing, RedisTestPrefix } from './redis-harness.js';

globalStoreContract('redis (standalone)', async () => {
  if ((await redisMissing()) !== undefined) return undefined;
  const r = RedisTestPrefix.standalone();
  return {
    store: (app = 'app') => r.store({ app }),
    expireLease: (serverId) => r.expireLease(serverId),
    teardown: () => r.drop(),
    expiresNatively: true,
  };
});
