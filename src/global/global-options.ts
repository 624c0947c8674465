import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { SessiondError } from '../errors.js';
import type { RowAllocation } from './postgres/pg-context.js';
import { isPgPool } from './postgres/pg-types.js';
import type { PostgresSource } from './postgres/postgres-global-store.js';
import type { RedisClusterSource, RedisSource } from './redis/redis-global-store.js';
import { isRedisClient, isRedisCluster } from './redis/redis-types.js';

/**
 * The `global:` options (docs/failover.md): validated once, unknown keys refused by name,
 * defaults filled, frozen, like the engine's (src/options.ts). README's global options
 * table lists GLOBAL_OPTION_SPECS (test/global/global-options.test.ts keeps them in step).
 */

export type GlobalMode = 'through' | 'back';

export interface GlobalOptions {
  /** Exactly one of the three backends: `postgres`, `redis`, `redisCluster`. */
  readonly postgres?: PostgresSource;
  readonly redis?: RedisSource;
  readonly redisCluster?: RedisClusterSource;
  readonly app: string;
  readonly serverId: string;
  readonly mode: GlobalMode;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly turnMs: number;
  readonly touchAfterMs: number;
  readonly schema: string;
  readonly rowAllocation: RowAllocation;
  readonly blankBatch: number;
  readonly poolMax: number;
  readonly inheritIntervalMs: number;
  readonly inheritBatchMax: number;
  readonly cleanupIntervalMs: number;
  readonly cleanupBatchMax: number;
  readonly keyPrefix: string;
  readonly replicaAckMs: number;
  readonly offlineWaitMsMax: number;
  readonly tombstoneMs: number;
  readonly writeBackMs: number;
  readonly writeBackBatchMax: number;
  readonly writeBackPendingMax: number;
  readonly pendingKeepMs: number;
  readonly handoverPollMs: number;
  readonly handoverFallbackMs: number;
  readonly clockDriftMarginMs: number;
}

export type GlobalOptionsInput = Partial<GlobalOptions> & { app: string };

/** The backend keys: exactly one is given. */
export const GLOBAL_BACKENDS = ['postgres', 'redis', 'redisCluster'] as const;

type Kind = 'int' | 'name' | 'postgres' | 'redis' | 'redisCluster' | 'prefix' | 'mode' | 'allocation';
interface Spec {
  kind: Kind;
  min?: number;
  max?: number;
  doc: string;
  defaultValue: (o: { dir: string; leaseMs: number }) => unknown;
  defaultDoc?: string;
}

export const GLOBAL_OPTION_SPECS: Readonly<Record<keyof GlobalOptions, Spec>> = {
  postgres: { kind: 'postgres', doc: '`{ connectionString }` (sessiond opens its own pool) or an existing pg.Pool', defaultValue: () => undefined, defaultDoc: '(one backend required)' },
  redis: { kind: 'redis', doc: "`{ url: 'redis://...' }` (sessiond opens its own ioredis client) or an existing ioredis client", defaultValue: () => undefined, defaultDoc: '(one backend required)' },
  redisCluster: { kind: 'redisCluster', doc: '`{ rootNodes: [{ url }] }` (sessiond opens its own ioredis Cluster) or an existing ioredis Cluster', defaultValue: () => undefined, defaultDoc: '(one backend required)' },
  app: { kind: 'name', doc: "the application's name: its row in the application table; apps never see each other's sessions", defaultValue: () => undefined, defaultDoc: '(required)' },
  serverId: { kind: 'name', doc: 'the owner server ID; stable across restarts of the same server', defaultValue: ({ dir }) => defaultServerId(dir), defaultDoc: 'hostname + hash of dir' },
  mode: { kind: 'mode', doc: "'through': a change is acknowledged once durable locally and committed to PostgreSQL; 'back': once durable locally, written back within writeBackMs (the server keeps the sessions it serves until another server asks for them)", defaultValue: () => 'through' },
  leaseMs: { kind: 'int', min: 500, max: 3_600_000, doc: 'server lease; a server that cannot renew it for this long loses its sessions to the others', defaultValue: () => 10_000 },
  heartbeatMs: { kind: 'int', min: 50, max: 1_200_000, doc: 'how often the lease is renewed (below leaseMs / 2)', defaultValue: ({ leaseMs }) => Math.max(50, Math.floor(leaseMs / 3)), defaultDoc: 'leaseMs / 3' },
  turnMs: { kind: 'int', min: 100, max: 3_600_000, doc: "longest one request holds its session's turn across servers; then another server may take it", defaultValue: ({ leaseMs }) => leaseMs, defaultDoc: 'leaseMs' },
  touchAfterMs: { kind: 'int', min: 0, max: 86_400_000, doc: "a touch moves the session's last access and expiry only once one of them moved by at least this much (or half the idle timeout, if shorter), like connect-mongo's touchAfter: 'through' mode, the global record's (the turn is given back either way) and the server's local copy's; 'back' mode, the holder's local copy's, which the write-back carries to the record. 0: every touch moves them", defaultValue: () => 1000 },
  schema: { kind: 'name', doc: 'PostgreSQL schema of the tables (created on first use)', defaultValue: () => 'sessiond' },
  rowAllocation: { kind: 'allocation', doc: "'insert' (INSERT ... ON CONFLICT, DELETE) or 'blank-records' (claim pre-allocated empty rows, return them on destroy; the seed's design)", defaultValue: () => 'insert' },
  blankBatch: { kind: 'int', min: 1, max: 100_000, doc: "with 'blank-records': empty rows added at once when none is left", defaultValue: () => 256 },
  poolMax: { kind: 'int', min: 1, max: 1000, doc: 'connections of the pool sessiond opens (ignored for a pool passed in)', defaultValue: () => 10 },
  inheritIntervalMs: { kind: 'int', min: 10, max: 3_600_000, doc: "how often the sessions of servers whose lease lapsed are inherited in the background", defaultValue: () => 2000 },
  inheritBatchMax: { kind: 'int', min: 1, max: 100_000, doc: 'most sessions inherited per background batch', defaultValue: () => 500 },
  cleanupIntervalMs: { kind: 'int', min: 10, max: 3_600_000, doc: 'how often expired records are removed (by one elected server at a time)', defaultValue: () => 10_000 },
  cleanupBatchMax: { kind: 'int', min: 1, max: 100_000, doc: 'most expired records removed per batch', defaultValue: () => 1000 },
  replicaAckMs: { kind: 'int', min: 0, max: 60_000, doc: 'Redis: after each change, WAIT until one replica has it, at most this long, or fail the change with 503 (0: do not wait; then a failover can lose the last changes, and the owner repairs what it can)', defaultValue: () => 0 },
  offlineWaitMsMax: { kind: 'int', min: 0, max: 3_600_000, doc: 'Redis: once connected, how long a request waits for a lost connection to come back (ioredis reconnecting) before it fails with 503, rather than leaseMs in the offline queue; a command in flight when the connection drops fails at once. At most leaseMs', defaultValue: ({ leaseMs }) => Math.min(1000, Math.floor(leaseMs / 4)), defaultDoc: 'min(1000, leaseMs / 4)' },
  tombstoneMs: { kind: 'int', min: 0, max: 7 * 24 * 3600_000, doc: "how long a destroyed session's global record stays a tombstone that refuses a late save of its ID on any server (0: none)", defaultValue: () => 10 * 60_000 },
  keyPrefix: { kind: 'prefix', doc: 'Redis: prefix of every key (docs/format.md §8); no `{` or `}`', defaultValue: () => 'sessiond:' },
  writeBackMs: { kind: 'int', min: 1, max: 600_000, doc: "'back' mode: longest a change waits before it is written back to PostgreSQL (changes of one session in that time are coalesced)", defaultValue: () => 100 },
  writeBackBatchMax: { kind: 'int', min: 1, max: 10_000, doc: 'most sessions written back in one statement', defaultValue: () => 256 },
  writeBackPendingMax: { kind: 'int', min: 1, max: 100_000_000, doc: 'most sessions waiting for write-back (back mode, or any mode while PostgreSQL is unreachable); past it changes are refused with SESSIOND_GLOBAL_UNAVAILABLE', defaultValue: () => 1_000_000 },
  pendingKeepMs: { kind: 'int', min: 0, max: 3_600_000, doc: "'back' mode: how long a session written back keeps its durable mark in `global-pending`, so that a change within that time is acknowledged without another fdatasync of that file. Those sessions count as pending after a crash: written back again (unchanged) at the restart, or, restarted after the lease lapsed, reported in writeBackLost when another server has them by then. 0: the mark goes at once", defaultValue: () => 1000 },
  handoverPollMs: { kind: 'int', min: 10, max: 600_000, doc: "'back' mode: how often a server looks for hand-over requests of its sessions when a notification was missed (LISTEN/NOTIFY is the fast path)", defaultValue: () => 500 },
  handoverFallbackMs: { kind: 'int', min: 1, max: 600_000, doc: "'back' mode: while this server listens for hand-over notifications, how long a waiter first waits for the holder's release message before it tries again without one (doubling up to handoverPollMs); the message normally ends the wait first", defaultValue: () => 50 },
  clockDriftMarginMs: { kind: 'int', min: 0, max: 600_000, doc: 'subtracted from the lease when the server, cut off from PostgreSQL, decides how long it may still serve the sessions it holds', defaultValue: ({ leaseMs }) => Math.max(50, Math.ceil(leaseMs / 20)), defaultDoc: 'leaseMs / 20, at least 50' },
};

/** Stable across restarts of one server (same host, same store directory), different for two stores on one host. */
export function defaultServerId(dir: string): string {
  const h = createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 8);
  return `${hostname().slice(0, 48)}-${h}`;
}

function invalid(option: string, reason: string): SessiondError {
  return new SessiondError('SESSIOND_INVALID_OPTION', `global.${option}: ${reason}`, { option: `global.${option}` });
}

function check(name: string, spec: Spec, v: unknown): void {
  switch (spec.kind) {
    case 'int':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalid(name, `expected an integer, got ${typeof v}`);
      if (v < spec.min!) throw invalid(name, `${v} is below the minimum ${spec.min}`);
      if (v > spec.max!) throw invalid(name, `${v} is above the maximum ${spec.max}`);
      return;
    case 'name':
      if (typeof v !== 'string' || v.length === 0 || Buffer.byteLength(v) > 64) throw invalid(name, 'expected a string of 1 to 64 bytes');
      return;
    case 'postgres': {
      const cs = (v as { connectionString?: unknown } | null)?.connectionString;
      if (!isPgPool(v) && (typeof cs !== 'string' || cs.length === 0)) throw invalid(name, 'expected { connectionString } or a pg.Pool');
      if (!isPgPool(v)) for (const k of Object.keys(v as object)) if (k !== 'connectionString') throw invalid(`${name}.${k}`, 'unknown option');
      return;
    }
    case 'redis': {
      if (isRedisClient(v)) return;
      const url = (v as { url?: unknown } | null)?.url;
      if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) throw invalid(name, "expected { url: 'redis://...' } or an ioredis client");
      for (const k of Object.keys(v as object)) if (k !== 'url') throw invalid(`${name}.${k}`, 'unknown option');
      return;
    }
    case 'redisCluster': {
      if (isRedisCluster(v)) return;
      const nodes = (v as { rootNodes?: unknown } | null)?.rootNodes;
      if (!Array.isArray(nodes) || nodes.length === 0) throw invalid(name, "expected { rootNodes: [{ url: 'redis://...' }] } or an ioredis Cluster");
      for (const k of Object.keys(v as object)) if (k !== 'rootNodes') throw invalid(`${name}.${k}`, 'unknown option');
      nodes.forEach((n: unknown, i) => {
        const url = (n as { url?: unknown } | null)?.url;
        if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) throw invalid(`${name}.rootNodes[${i}]`, "expected { url: 'redis://...' }");
      });
      return;
    }
    case 'prefix':
      if (typeof v !== 'string' || Buffer.byteLength(v) > 64 || /[{}]/.test(v)) throw invalid(name, 'expected a string of at most 64 bytes without { or }');
      return;
    case 'mode':
      if (v !== 'through' && v !== 'back') throw invalid(name, `expected 'through' or 'back', got ${JSON.stringify(v)}`);
      return;
    case 'allocation':
      if (v !== 'insert' && v !== 'blank-records') throw invalid(name, `expected 'insert' or 'blank-records', got ${JSON.stringify(v)}`);
      return;
  }
}

export function resolveGlobalOptions(input: unknown, dir: string): GlobalOptions {
  if (typeof input !== 'object' || input === null) throw invalid('options', 'expected an object');
  for (const key of Object.keys(input)) if (!Object.hasOwn(GLOBAL_OPTION_SPECS, key)) throw invalid(key, 'unknown option');
  const given = input as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const leaseMs = given.leaseMs ?? GLOBAL_OPTION_SPECS.leaseMs.defaultValue({ dir, leaseMs: 0 });
  check('leaseMs', GLOBAL_OPTION_SPECS.leaseMs, leaseMs);
  const backends = GLOBAL_BACKENDS.filter((b) => given[b] !== undefined);
  if (backends.length === 0) throw invalid('postgres', 'required: one backend, postgres, redis or redisCluster');
  if (backends.length > 1) throw invalid(backends[1]!, `only one backend may be given, and ${backends[0]} is`);
  for (const [name, spec] of Object.entries(GLOBAL_OPTION_SPECS)) {
    const v = given[name] === undefined ? spec.defaultValue({ dir, leaseMs: leaseMs as number }) : given[name];
    if (v === undefined && (GLOBAL_BACKENDS as readonly string[]).includes(name)) continue;
    if (v === undefined) throw invalid(name, 'required');
    check(name, spec, v);
    out[name] = v;
  }
  if ((out.heartbeatMs as number) * 2 > (out.leaseMs as number)) throw invalid('heartbeatMs', `${String(out.heartbeatMs)} must be at most leaseMs / 2 so one lost heartbeat does not lose the lease`);
  if ((out.clockDriftMarginMs as number) * 2 > (out.leaseMs as number)) throw invalid('clockDriftMarginMs', `${String(out.clockDriftMarginMs)} must be at most leaseMs / 2`);
  if ((out.offlineWaitMsMax as number) > (out.leaseMs as number)) throw invalid('offlineWaitMsMax', `${String(out.offlineWaitMsMax)} must be at most leaseMs: a command waits no longer than that once sent`);
  return Object.freeze(out) as unknown as GlobalOptions;
}
