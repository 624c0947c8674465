import { performance } from 'node:perf_hooks';
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
  /** How much longer this server may serve the sessions it holds without hearing from the global store (ms; 0 = not at all). */
  exclusiveForMs: number;
}

export class Ownership {
  private current: ServerLease;
  private heartbeat: NodeJS.Timeout | undefined;
  private inheritTimer: NodeJS.Timeout | undefined;
  private cleanupTimer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private stopped = false;
  /** Monotonic ms at which the last statement that confirmed the lease was sent. */
  private confirmedAtMs: number;
  /** Monotonic ms at which the current epoch's registration was sent. */
  private registeredAtMs: number;
  /** The epochs' rows are not adopted yet (adopt failed after a new lease was taken). */
  private adoptPending = false;
  readonly counters = { leasesLost: 0, adopted: 0, inherited: 0, cleaned: 0, fenced: 0 };

  private constructor(
    private readonly store: GlobalStore,
    private readonly o: GlobalOptions,
    private readonly logger: Logger,
    lease: ServerLease,
    confirmedAtMs: number,
    /** Called when the lease was lost: the server forgets what it knew of every session. */
    private readonly onLeaseLost: () => void,
    /** The monotonic clock (ms) the lease window is measured on. */
    private readonly now: () => number,
  ) {
    this.current = lease;
    this.confirmedAtMs = confirmedAtMs;
    this.registeredAtMs = confirmedAtMs;
  }

  /**
   * Registers the server (a new epoch) and adopts what its previous run still owns.
   * `now`: the monotonic clock (ms) the lease window is measured on (tests pass their own).
   */
  static async start(store: GlobalStore, o: GlobalOptions, logger: Logger, onLeaseLost: () => void, now: () => number = () => performance.now()): Promise<Ownership> {
    const sentAt = now();
    const lease = await store.acquireLease(o.serverId, o.leaseMs);
    const own = new Ownership(store, o, logger, lease, sentAt, onLeaseLost, now);
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

  /**
   * How much longer (ms) this server may act as the only holder of its sessions without
   * hearing from the global store. The lease ends leaseMs after the database ran the last
   * statement that confirmed it, which is after that statement was sent: so it lasts at
   * least until sentAt + leaseMs on this server's monotonic clock, less clockDriftMarginMs
   * for the two clocks' rates. Until then no other server can inherit (docs/failover.md
   * §Outage); 0 once that time has passed, however the server got there (cut off, paused).
   * Whole ms, rounded down: the number stats() reports is the one every serving decision
   * uses, so 0 there means nothing held is served (the last fraction of a ms is given up).
   */
  exclusiveForMs(): number {
    if (this.adoptPending) return 0;
    return Math.max(0, Math.floor(this.confirmedAtMs + this.o.leaseMs - this.o.clockDriftMarginMs - this.now()));
  }

  /** Renews the lease; on loss, takes a new one. One renewal at a time. */
  renew(): Promise<void> {
    this.renewing ??= this.doRenew().finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  private async doRenew(): Promise<void> {
    if (this.stopped) return;
    try {
      const sentAt = this.now();
      if (await this.store.renewLease(this.current, this.o.leaseMs)) {
        this.confirmedAtMs = sentAt;
        if (this.adoptPending) await this.adoptOlder();
        return;
      }
      this.counters.leasesLost++;
      this.logger.warn('global_lease_lost', { serverId: this.o.serverId, epoch: this.current.epoch });
      this.confirmedAtMs = -Infinity;
      this.onLeaseLost();
      const again = this.now();
      const lease = await this.store.acquireLease(this.o.serverId, this.o.leaseMs);
      this.current = lease;
      this.confirmedAtMs = again;
      this.registeredAtMs = again;
      this.adoptPending = true;
      await this.adoptOlder();
    } catch (e) {
      this.logger.warn('global_heartbeat_failed', { code: isSessiondError(e) ? e.code : 'unknown' });
    }
  }

  /** Takes back the rows of this server's older epochs; until done, nothing held is served. */
  private async adoptOlder(): Promise<void> {
    const adopted = await this.store.adopt(this.current);
    this.adoptPending = false;
    this.counters.adopted += adopted;
    this.logger.info('global_lease_acquired', { serverId: this.o.serverId, epoch: this.current.epoch, adopted });
  }

  /**
   * Background inheritance, not before this epoch is leaseMs old: when the global store
   * returns from an outage every lease has lapsed, and the server that registers again
   * first would otherwise take the rows of servers that are alive but have not registered
   * again yet (their heartbeat comes within heartbeatMs), losing the changes they still
   * have to write back (docs/failover.md §Outage). A server really gone is inherited leaseMs
   * later than before in the background; a request for one of its sessions still takes it.
   */
  private async inheritSome(): Promise<void> {
    if (this.stopped || this.now() - this.registeredAtMs < this.o.leaseMs) return;
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
    return { serverId: this.o.serverId, epoch: this.current.epoch, ...this.counters, exclusiveForMs: this.exclusiveForMs() };
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
