import { GLOBAL_TOMBSTONE_MS, type BatchWrite, type DestroyAllResult, type GlobalRecord, type GlobalStore, type GlobalWrite, type HandoverEvents, type HandoverListener, type ServerLease, type TurnResult, type WriteOutcome } from '../global-store.js';
import * as handovers from './handovers.js';
import { acquireLease, adopt, checkLeases, releaseLease, renewLease } from './leases.js';
import * as maintenance from './maintenance.js';
import * as principals from './principals.js';
import { redisKeys, type RedisContext } from './redis-context.js';
import { isRedisClient, isRedisCluster, type RedisClientLike, type RedisClusterLike, type RedisCommander } from './redis-types.js';
import { gateOffline } from './offline-gate.js';
import { writePerLoop } from './loop-writes.js';
import { migrate } from './schema.js';
import * as rows from './session-rows.js';
import { releaseTurn, takeTurn } from './turns.js';

/** Standalone Redis: a URL (the store opens and closes its own ioredis client) or the application's client. */
export type RedisSource = { url: string } | RedisClientLike;
/** Redis Cluster: seed nodes (the store opens its own ioredis Cluster) or the application's Cluster client. */
export type RedisClusterSource = { rootNodes: ReadonlyArray<{ url: string }> } | RedisClusterLike;

export interface RedisStoreOptions {
  /** Exactly one of `redis` and `redisCluster`. */
  readonly redis?: RedisSource;
  readonly redisCluster?: RedisClusterSource;
  readonly app: string;
  /** Prefix of every key (docs/format.md §8); tests use one per run. */
  readonly keyPrefix: string;
  /** Recorded in the app's meta key. */
  readonly sessionTtlMs: number;
  /** CLIENT SETNAME of the connections the store opens. */
  readonly connectionName?: string;
  /**
   * Longest wait for a command's answer on the clients the store opens (also while a
   * cluster fails over): past it the request fails with SESSIOND_GLOBAL_UNAVAILABLE
   * instead of hanging. The engine passes leaseMs.
   */
  readonly timeoutMs?: number;
  /** After each change, WAIT until one replica has it, at most this long; 0 (default) does not wait. */
  readonly replicaAckMs?: number;
  /**
   * Once connected, longest a command waits for a lost connection to come back before
   * SESSIOND_GLOBAL_UNAVAILABLE (offline-gate.ts); default 1000. A command in flight when
   * the connection drops fails at once.
   */
  readonly offlineWaitMsMax?: number;
  /** How long a destroyed session's tombstone refuses a create of its ID (docs/failover.md §Tombstones); default 10 min, 0 = none. */
  readonly tombstoneMs?: number;
}

const DEFAULT_OFFLINE_WAIT_MS_MAX = 1000;

function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 6379) };
}

/** Opens the ioredis client (loaded only now: `ioredis` is needed only by apps that use this backend). */
interface Opened {
  readonly client: RedisClientLike;
  readonly cluster: boolean;
  readonly owns: boolean;
  /** Closes a client the store opened (an application's client lives on). */
  end(): Promise<void>;
}

async function open(o: RedisStoreOptions): Promise<Opened> {
  const src = o.redis ?? o.redisCluster;
  const cluster = o.redisCluster !== undefined;
  if (isRedisClient(src)) return { client: src, cluster, owns: false, end: () => Promise.resolve() };
  const { Redis, Cluster } = await import('ioredis');
  // Commands in flight when a connection drops: the offline gate fails them and takes them
  // out of ioredis's resend queue (offline-gate.ts), so a refused change never runs later.
  const common = { commandTimeout: o.timeoutMs, connectionName: o.connectionName };
  let client: RedisClientLike & { on(ev: 'error', f: () => void): unknown; disconnect(): void };
  if (!cluster) {
    // No auto-pipelining: the commands of a loop iteration go out in one write all the same (loop-writes.ts), for half the CPU.
    client = new Redis((src as { url: string }).url, { ...common, maxRetriesPerRequest: 2 });
  } else {
    const nodes = (src as { rootNodes: ReadonlyArray<{ url: string }> }).rootNodes.map((n) => hostPort(n.url));
    // No auto-pipelining on a cluster: ioredis 5.9 then fails concurrent commands of different slots.
    client = new Cluster(nodes, { redisOptions: common, retryDelayOnFailover: 200, retryDelayOnClusterDown: 200, retryDelayOnTryAgain: 200, maxRedirections: 32 });
  }
  // A connection dropping (a master killed, a failover) must not crash the process; commands report it.
  client.on('error', () => undefined);
  // QUIT fails while the connection is down (the gate turned the offline queue off) and
  // ioredis would then reconnect for good, keeping the process alive: disconnect either way.
  const end = (): Promise<void> => client.quit().then(() => client.disconnect(), () => client.disconnect());
  return { client, cluster, owns: true, end };
}

/** The GlobalStore contract on Redis and Redis Cluster (docs/failover.md §Redis). */
export class RedisGlobalStore implements GlobalStore {
  private constructor(
    private readonly ctx: RedisContext,
    /** Closes the client if the store opened it. */
    private readonly end: () => Promise<void>,
    private readonly sessionTtlMs: number,
    /** Stops the offline gate listening to the client. */
    private readonly detach: () => void,
  ) {}

  static async create(o: RedisStoreOptions): Promise<RedisGlobalStore> {
    const opened = await open(o);
    const { cluster, owns, end } = opened;
    if (cluster && !isRedisCluster(opened.client)) throw new TypeError('redisCluster: the client given has no nodes()');
    const gated = gateOffline(opened.client, o.offlineWaitMsMax ?? DEFAULT_OFFLINE_WAIT_MS_MAX, owns);
    const { detach } = gated;
    // An application's client keeps its own write behaviour; a Cluster's commands go to several sockets.
    const client = owns && !cluster ? writePerLoop(gated.client, opened.client) : gated.client;
    const masters = (): RedisCommander[] => (cluster ? (client as RedisClusterLike).nodes('master') : [client]);
    const ctx: RedisContext = { client, masters, app: o.app, k: redisKeys(o.keyPrefix, o.app), deadlines: new Map(), seenLive: new Map(), turnTimes: new Map(), replicaAckMs: o.replicaAckMs ?? 0, tombstoneMs: o.tombstoneMs ?? GLOBAL_TOMBSTONE_MS };
    return new RedisGlobalStore(ctx, end, o.sessionTtlMs, detach);
  }

  migrate(): Promise<void> {
    return migrate(this.ctx, this.sessionTtlMs);
  }
  acquireLease(serverId: string, leaseMs: number): Promise<ServerLease> {
    return acquireLease(this.ctx, serverId, leaseMs);
  }
  renewLease(lease: ServerLease, leaseMs: number): Promise<boolean> {
    return renewLease(this.ctx, lease, leaseMs);
  }
  releaseLease(lease: ServerLease): Promise<void> {
    return releaseLease(this.ctx, lease);
  }
  adopt(lease: ServerLease): Promise<number> {
    return adopt(this.ctx, lease);
  }
  /**
   * Re-reads the leases this store holds and drops those revoked from outside (an
   * operator deleting a lease key): their writes are fenced at once rather than at the
   * next heartbeat. Leases that lapse by time need nothing: the deadline does it.
   */
  checkLeases(): Promise<void> {
    return checkLeases(this.ctx);
  }
  load(id: string): Promise<GlobalRecord | undefined> {
    return rows.load(this.ctx, id);
  }
  takeTurn(lease: ServerLease, id: string, turnMs: number, knownVersion: number, hold = false): Promise<TurnResult | undefined> {
    return takeTurn(this.ctx, lease, id, turnMs, knownVersion, hold);
  }
  requestHandover(lease: ServerLease, id: string): Promise<void> {
    return handovers.requestHandover(this.ctx, lease, id);
  }
  handoverRequests(lease: ServerLease, limit: number): Promise<string[]> {
    return handovers.handoverRequests(this.ctx, lease, limit);
  }
  subscribe(serverId: string, on: HandoverEvents): Promise<HandoverListener> {
    return handovers.subscribe(this.ctx, serverId, on);
  }
  writeBatch(lease: ServerLease, items: readonly BatchWrite[]): Promise<WriteOutcome[]> {
    return rows.writeBatch(this.ctx, lease, items);
  }
  releaseTurn(lease: ServerLease, id: string): Promise<void> {
    return releaseTurn(this.ctx, lease, id);
  }
  create(lease: ServerLease, id: string, w: GlobalWrite, hold = false): Promise<boolean> {
    return rows.create(this.ctx, lease, id, w, hold);
  }
  write(lease: ServerLease, id: string, expectedVersion: number, w: GlobalWrite, releaseTurn: boolean): Promise<WriteOutcome> {
    return rows.write(this.ctx, lease, id, expectedVersion, w, releaseTurn);
  }
  async restore(lease: ServerLease, id: string, expectedVersion: number, version: number, w: GlobalWrite): Promise<WriteOutcome> {
    if (expectedVersion === 0) return (await rows.create(this.ctx, lease, id, w, true, version)) ? 'ok' : 'conflict';
    return rows.write(this.ctx, lease, id, expectedVersion, w, false, version);
  }
  touch(lease: ServerLease, id: string, lastAccessAtMs: number, expiresAtMs: number | undefined, releaseTurn: boolean, touchAfterMs = 0): Promise<WriteOutcome> {
    return rows.touch(this.ctx, lease, id, lastAccessAtMs, expiresAtMs, releaseTurn, touchAfterMs);
  }
  destroy(lease: ServerLease, id: string, expectedVersion: number): Promise<WriteOutcome> {
    return rows.destroy(this.ctx, lease, id, expectedVersion);
  }
  inheritBatch(lease: ServerLease, limit: number): Promise<string[]> {
    return maintenance.inheritBatch(this.ctx, lease, limit);
  }
  cleanupExpired(limit: number): Promise<number> {
    return maintenance.cleanupExpired(this.ctx, limit);
  }
  sessionsOf(principal: string, limit: number): Promise<GlobalRecord[]> {
    return principals.sessionsOf(this.ctx, principal, limit);
  }
  destroyAllOf(lease: ServerLease, principal: string, except: readonly string[]): Promise<DestroyAllResult> {
    return principals.destroyAllOf(this.ctx, lease, principal, except);
  }
  list(limit: number): Promise<GlobalRecord[]> {
    return maintenance.list(this.ctx, limit);
  }
  count(): Promise<number> {
    return maintenance.count(this.ctx);
  }
  clear(): Promise<number> {
    return maintenance.clear(this.ctx);
  }
  async close(): Promise<void> {
    this.detach();
    await this.end();
  }
}
