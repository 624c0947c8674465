/** Global session information (docs/failover.md): the contract, the composed engine, the PostgreSQL and Redis backends. */
export { GlobalSessionEngine, type GlobalEngineOptionsInput, type GlobalStats } from './global-session-engine.js';
export { globalMetrics } from './global-metrics.js';
export { GLOBAL_OPTION_SPECS, resolveGlobalOptions, type GlobalOptions, type GlobalOptionsInput, type GlobalMode } from './global-options.js';
export type { BatchWrite, GlobalStore, GlobalRecord, GlobalWrite, HandoverEvents, HandoverListener, ServerLease, TurnResult, WriteOutcome } from './global-store.js';
export type { OwnershipStats } from './ownership.js';
export { PostgresGlobalStore, type PostgresSource, type PostgresStoreOptions } from './postgres/postgres-global-store.js';
export type { PgPool, PgPoolClient, PgQueryable, PgResult } from './postgres/pg-types.js';
export { RedisGlobalStore, type RedisSource, type RedisClusterSource, type RedisStoreOptions } from './redis/redis-global-store.js';
export type { RedisClientLike, RedisClusterLike, RedisCommander } from './redis/redis-types.js';
