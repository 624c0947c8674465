import type { BatchWrite, DestroyAllResult, GlobalRecord, GlobalStore, GlobalWrite, HandoverEvents, HandoverListener, ServerLease, TurnResult, WriteOutcome } from '../global-store.js';
import { channelName, tableNames, type PgContext, type RowAllocation } from './pg-context.js';
import * as handovers from './handovers.js';
import { isPgPool, type PgPool } from './pg-types.js';
import { migrate, migrationSql } from './schema.js';
import { acquireLease, adopt, releaseLease, renewLease } from './leases.js';
import * as rows from './session-rows.js';
import { releaseTurn, takeTurns, type TurnAsk } from './turns.js';
import { touchBatch, type TouchAsk } from './touches.js';
import { writeBatch } from './write-batch.js';
import { StatementBatcher, type BatchStats } from './statement-batch.js';
import * as maintenance from './maintenance.js';
import * as principals from './principals.js';
import { GLOBAL_TOMBSTONE_MS } from '../global-store.js';

/** Where the PostgreSQL store connects: a connection string (the store opens and closes its own pool) or the application's pg.Pool. */
export type PostgresSource = { connectionString: string } | PgPool;

export interface PostgresStoreOptions {
  readonly postgres: PostgresSource;
  readonly app: string;
  /** Schema holding the tables; one per deployment (tests use one per run). */
  readonly schema: string;
  readonly rowAllocation: RowAllocation;
  /** Blank records added at once when none is left. */
  readonly blankBatch: number;
  /** Connections of the pool the store opens. */
  readonly poolMax: number;
  /** Recorded in the application table. */
  readonly sessionTtlMs: number;
  /** application_name of the store's connections (tests select them by it). */
  readonly applicationName: string;
  /**
   * Longest wait to connect or for a statement's answer on the pool the store opens: past
   * it the request fails with SESSIOND_GLOBAL_UNAVAILABLE instead of hanging on a
   * silent network. The engine passes leaseMs.
   */
  readonly timeoutMs?: number;
  /** How long a destroyed session's tombstone refuses a create of its ID (docs/failover.md §Tombstones); default 10 min, 0 = none. */
  readonly tombstoneMs?: number;
}

/** The GlobalStore contract on PostgreSQL (docs/failover.md). */
export class PostgresGlobalStore implements GlobalStore {
  /** Turns and touches asked by concurrent requests, batched while others are out (docs/failover.md §Protocol). */
  private readonly turns: StatementBatcher<TurnAsk, TurnResult | undefined>;
  private readonly touches: StatementBatcher<TouchAsk, WriteOutcome>;

  private constructor(
    private readonly ctx: PgContext,
    private readonly ownsPool: boolean,
    private readonly sessionTtlMs: number,
  ) {
    this.turns = new StatementBatcher((asks) => takeTurns(ctx, asks), (a) => a.id);
    this.touches = new StatementBatcher((asks) => touchBatch(ctx, asks), (a) => a.id);
  }

  static async create(o: PostgresStoreOptions): Promise<PostgresGlobalStore> {
    let pool: PgPool;
    const owns = !isPgPool(o.postgres);
    if (isPgPool(o.postgres)) pool = o.postgres;
    else {
      const pg = await import('pg');
      const p = new pg.default.Pool({
        connectionString: o.postgres.connectionString,
        max: o.poolMax,
        application_name: o.applicationName,
        connectionTimeoutMillis: o.timeoutMs,
        query_timeout: o.timeoutMs,
      });
      // An idle connection dying (server restart, pg_terminate_backend) must not crash the process.
      p.on('error', () => undefined);
      pool = p as unknown as PgPool;
    }
    const ctx: PgContext = { pool, t: tableNames(o.schema), app: o.app, allocation: o.rowAllocation, blankBatch: o.blankBatch, channel: channelName(o.schema, o.app), tombstoneMs: o.tombstoneMs ?? GLOBAL_TOMBSTONE_MS };
    return new PostgresGlobalStore(ctx, owns, o.sessionTtlMs);
  }

  /** The SQL that migrate() runs on an empty database, for `sessiond migrate --print`. */
  static migrationSql(schema: string): string {
    return migrationSql(tableNames(schema));
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
  load(id: string): Promise<GlobalRecord | undefined> {
    return rows.load(this.ctx, id);
  }
  takeTurn(lease: ServerLease, id: string, turnMs: number, knownVersion: number, hold = false): Promise<TurnResult | undefined> {
    return this.turns.ask({ lease, id, turnMs, knownVersion, hold });
  }
  /** Statements sent and asks answered, of turns and of touches (asks / statements = the mean batch). */
  get batchStats(): { readonly turns: Readonly<BatchStats>; readonly touches: Readonly<BatchStats> } {
    return { turns: this.turns.stats, touches: this.touches.stats };
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
    return writeBatch(this.ctx, lease, items);
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
    return this.touches.ask({ lease, id, lastAccessAtMs, expiresAtMs, releaseTurn, touchAfterMs });
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
    if (this.ownsPool) await this.ctx.pool.end();
  }
}
