import type { GlobalStore } from './global-store.js';
import type { GlobalOptions } from './global-options.js';
import { PostgresGlobalStore } from './postgres/postgres-global-store.js';
import { RedisGlobalStore } from './redis/redis-global-store.js';

/** Opens the backend the `global:` options name (exactly one, checked by resolveGlobalOptions). */
export function openGlobalStore(g: GlobalOptions, sessionTtlMs: number): Promise<GlobalStore> {
  const connectionName = `sessiond:${g.app}:${g.serverId}`;
  if (g.postgres !== undefined) {
    return PostgresGlobalStore.create({
      postgres: g.postgres,
      app: g.app,
      schema: g.schema,
      rowAllocation: g.rowAllocation,
      blankBatch: g.blankBatch,
      poolMax: g.poolMax,
      sessionTtlMs,
      applicationName: connectionName.slice(0, 63),
      timeoutMs: g.leaseMs,
      tombstoneMs: g.tombstoneMs,
    });
  }
  return RedisGlobalStore.create({
    redis: g.redis,
    redisCluster: g.redisCluster,
    app: g.app,
    keyPrefix: g.keyPrefix,
    sessionTtlMs,
    // CLIENT SETNAME refuses spaces and newlines.
    connectionName: connectionName.replace(/[^\x21-\x7e]/g, '_'),
    timeoutMs: g.leaseMs,
    replicaAckMs: g.replicaAckMs,
    offlineWaitMsMax: g.offlineWaitMsMax,
    tombstoneMs: g.tombstoneMs,
  });
}
