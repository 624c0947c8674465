import { SessiondError, isSessiondError } from '../errors.js';
import type { Logger } from '../options.js';
import type { GlobalStore, ServerLease, WriteOutcome } from './global-store.js';
import type { GlobalOptions } from './global-options.js';

/**
 * This server's side of the ownership protocol (docs/failover.md §Protocol): it holds the
 * server lease, renews it every heartbeatMs, and when the lease is lost (paused past it,
 * cut off from the database) registers again with a new epoch and adopts the sessions
 * nobody inherited meanwhile. It also runs the two background jobs: inheriting dead
 * servers' sessions and removing expired records, each in bounded batches.
 * The fence itself is in the database, in every statement; nothing here trusts a clock.
 */

export interface OwnershipStats {
  serverId: string;
  epoch: number;
  leasesLost: number;
  adopted: number;
  inherited: number;
  cleaned: number;
  fenced: number;
}

export class Ownership {
  private current: ServerLease;
  private heartbeat: NodeJS.Timeout | undefined;
  private inheritTimer: NodeJS.Timeout | undefined;
  private cleanupTimer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private stopped = false;
  readonly counters = { leasesLost: 0, adopted: 0, inherited: 0, cleaned: 0, fenced: 0 };

  private constructor(
    private readonly store: GlobalStore,
    private readonly o: GlobalOptions,
    private readonly logger: Logger,
    lease: ServerLease,
    /** Called when the lease was lost: the server forgets what it knew of every session. */
    private readonly onLeaseLost: () => void,
  ) {
    this.current = lease;
  }

  /** Registers the server (a new epoch) and adopts what its previous run still owns. */
  static async start(store: GlobalStore, o: GlobalOptions, logger: Logger, onLeaseLost: () => void): Promise<Ownership> {
    const lease = await store.acquireLease(o.serverId, o.leaseMs);
    const own = new Ownership(store, o, logger, lease, onLeaseLost);
    own.counters.adopted += await store.adopt(lease);
    logger.info('global_lease_acquired', { serverId: o.serverId, epoch: lease.epoch, adopted: own.counters.adopted });
    own.heartbeat = setInterval(() => void own.renew(), o.heartbeatMs).unref();
    own.inheritTimer = setInterval(() => void own.inheritSome(), o.inheritIntervalMs).unref();
    own.cleanupTimer = setInterval(() => void own.cleanSome(), o.cleanupIntervalMs).unref();
    return own;
  }

  get lease(): ServerLease {
    return this.current;
  }

  /** Renews the lease; on loss, takes a new one. One renewal at a time. */
  renew(): Promise<void> {
    this.renewing ??= this.doRenew().finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  private async doRenew(): Promise<void> {
    if (this.stopped) return;
    try {
      if (await this.store.renewLease(this.current, this.o.leaseMs)) return;
      this.counters.leasesLost++;
      this.logger.warn('global_lease_lost', { serverId: this.o.serverId, epoch: this.current.epoch });
      this.onLeaseLost();
      const lease = await this.store.acquireLease(this.o.serverId, this.o.leaseMs);
      this.current = lease;
      const adopted = await this.store.adopt(lease);
      this.counters.adopted += adopted;
      this.logger.info('global_lease_acquired', { serverId: this.o.serverId, epoch: lease.epoch, adopted });
    } catch (e) {
      this.logger.warn('global_heartbeat_failed', { code: isSessiondError(e) ? e.code : 'unknown' });
    }
  }

  private async inheritSome(): Promise<void> {
    if (this.stopped) return;
    try {
      this.counters.inherited += (await this.store.inheritBatch(this.current, this.o.inheritBatchMax)).length;
    } catch (e) {
      this.logger.warn('global_inherit_failed', { code: isSessiondError(e) ? e.code : 'unknown' });
    }
  }

  private async cleanSome(): Promise<void> {
    if (this.stopped) return;
    try {
      this.counters.cleaned += Math.max(0, await this.store.cleanupExpired(this.o.cleanupBatchMax));
    } catch (e) {
      this.logger.warn('global_cleanup_failed', { code: isSessiondError(e) ? e.code : 'unknown' });
    }
  }

  /** The error a request gets when a fenced statement changed nothing. */
  refused(outcome: Exclude<WriteOutcome, 'ok'>): SessiondError {
    if (outcome === 'absent') return new SessiondError('SESSIOND_SESSION_DESTROYED', 'the session no longer exists in the global store');
    this.counters.fenced++;
    const why = outcome === 'conflict' ? 'another server changed the session' : 'another server owns the session or this server lease lapsed';
    return new SessiondError('SESSIOND_FENCED', why, { serverId: this.current.serverId, epoch: this.current.epoch });
  }

  stats(): OwnershipStats {
    return { serverId: this.o.serverId, epoch: this.current.epoch, ...this.counters };
  }

  /** Stops the timers and, unless `keepLease`, ends the lease so the others inherit at once. */
  async stop(keepLease = false): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearInterval(this.inheritTimer);
    clearInterval(this.cleanupTimer);
    await this.renewing;
    if (!keepLease) await this.store.releaseLease(this.current).catch(() => undefined);
  }
}
