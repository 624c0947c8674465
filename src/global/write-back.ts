import { performance } from 'node:perf_hooks';
import type { SessionEngine } from '../engine/session-engine.js';
import { SessiondError, isSessiondError } from '../errors.js';
import type { Logger } from '../options.js';
import type { SessionState } from '../session/session-state.js';
import type { BatchWrite, GlobalStore, ServerLease } from './global-store.js';
import type { GlobalOptions } from './global-options.js';
import type { KeyedChain } from './keyed-chain.js';
import type { Ownership } from './ownership.js';
import type { PendingJournal } from './pending-journal.js';
import { HandoverHolder, type HandoverHost } from './handover-holder.js';
import { waitForHandover, type HandoverWaiter } from './handover-waiter.js';
import { ReleaseAlarms } from './release-alarms.js';
import { toWrite, type Known } from './known-record.js';
import { REAL_TIMERS, WriteBackTick, writeBackDueInMs, type TickTimers } from './write-back-tick.js';

/**
 * Back mode (docs/failover.md §Back mode): this server holds the turn of every session it
 * serves until another server asks for it, acknowledges a change once it is durable in
 * the local log and the session is durably marked pending (pending-journal.ts), and writes
 * pending sessions back within writeBackMs, oldest first, many per statement, fenced. While
 * the global store is unreachable it goes on serving what it holds for as long as its lease
 * provably lasts (Ownership.exclusiveForMs) and drains the backlog when the store returns.
 * The hand-over's two sides: handover-holder.ts (asked) and handover-waiter.ts (asking).
 */

export interface WriteBackStats {
  writeBackPending: number;
  /** Age of the oldest change not yet written back (ms; 0 = none). */
  writeBackLagMs: number;
  writeBackWritten: number;
  /** Pending changes dropped because another server inherited or removed the session first. */
  writeBackLost: number;
  writeBackFailures: number;
  handoversGiven: number;
  handoversAsked: number;
  /** Waits for a hand-over ended by the holder's release message (the fast path). */
  handoverWokenByRelease: number;
  /** Waits for a hand-over ended by the waiter's own timer (the polling fallback). */
  handoverWokenByTimer: number;
}

export class WriteBack {
  /** Sessions whose turn this server holds for good (until it hands them over or loses its lease). */
  readonly kept = new Set<string>();
  private flushing: Promise<void> | undefined;
  /** The write-back tick: armed only while something is pending or a kept mark waits to be dropped. */
  readonly tick: WriteBackTick;
  /** The hand-over's two sides: the holder's (its listener and polling fallback) and a waiter's. */
  private readonly holder: HandoverHolder;
  private readonly waiter: HandoverWaiter;
  private stopped = false;
  readonly counters = { writeBackWritten: 0, writeBackLost: 0, writeBackFailures: 0, handoversGiven: 0, handoversAsked: 0, handoverWokenByRelease: 0, handoverWokenByTimer: 0 };

  constructor(
    private readonly local: SessionEngine,
    private readonly store: GlobalStore,
    private readonly ownership: Ownership,
    private readonly g: GlobalOptions,
    private readonly journal: PendingJournal,
    private readonly known: Map<string, Known>,
    private readonly chain: KeyedChain,
    private readonly logger: Logger,
    timers: TickTimers = REAL_TIMERS,
  ) {
    this.tick = new WriteBackTick(() => this.flush(), (sinceRunMs) => writeBackDueInMs(journal, g, sinceRunMs), timers);
    this.tick.poke(); // sessions replayed pending at the start
    const alarms = new ReleaseAlarms(this.counters);
    const host: HandoverHost = { kept: this.kept, stopped: () => this.stopped, reclaim: (id) => this.reclaim(id), writeNow: (ids) => this.writeNow(ids) };
    this.holder = new HandoverHolder(host, { local, store, ownership, g, journal, chain, logger, counters: this.counters, released: (id) => alarms.released(id) });
    this.waiter = { local, store, ownership, g, alarms, counters: this.counters, kept: this.kept, live: () => this.holder.live };
  }

  get pending(): PendingJournal {
    return this.journal;
  }

  /**
   * The lease was lost: nothing held can be trusted (the pending set stays: it is reclaimed
   * once registered again). The marks kept for sessions written back go: those sessions may
   * be another server's by now, and a replayed mark would report them lost after a crash.
   */
  forget(): void {
    this.kept.clear();
    this.journal.dropSettled(0);
  }

  /** Throws unless this server may still serve the sessions it holds (its lease provably lasts). */
  checkExclusive(): void {
    if (this.ownership.exclusiveForMs() > 0) return;
    throw new SessiondError('SESSIOND_GLOBAL_UNAVAILABLE', 'this server cannot confirm its lease, so another server may hold the session', {
      serverId: this.g.serverId,
    });
  }

  /**
   * Records a change of a held session made durable locally: the session is pending (durably)
   * before the caller acknowledges it, and only while the lease it was made under (`lease`,
   * read before the local write) still provably lasts. A server woken from a pause past its
   * lease may lose it and register again while the change is on its way to disk: the new
   * lease lasts, but the session was held under the old one and may be another server's now.
   */
  async changed(id: string, lease: ServerLease): Promise<void> {
    if (this.journal.get(id) === undefined && this.journal.count >= this.g.writeBackPendingMax) {
      throw new SessiondError('SESSIOND_GLOBAL_UNAVAILABLE', 'too many sessions wait for write-back', { writeBackPendingMax: this.g.writeBackPendingMax });
    }
    const durable = this.journal.add(id);
    this.tick.poke();
    await durable;
    if (this.ownership.lease !== lease) throw this.ownership.refused('fenced');
    this.checkExclusive(); // paused or cut off past the lease meanwhile: not acknowledged
  }

  /**
   * Takes the session's turn for good. When another live server holds it, asks it to hand the
   * session over and waits (woken by its release, polling as the fallback) up to queueWaitMsMax.
   */
  async acquire(id: string, take: () => Promise<'held' | 'absent' | 'busy'>): Promise<void> {
    // Woken past the lease (paused, cut off): register again now rather than at the next heartbeat.
    if (this.ownership.exclusiveForMs() === 0) await this.ownership.renew();
    if (this.journal.get(id) !== undefined && !this.kept.has(id)) await this.reclaim(id);
    if (this.kept.has(id)) return this.checkExclusive();
    return waitForHandover(this.waiter, id, take);
  }

  /**
   * A session pending write-back that this server does not hold (it registered again after
   * losing its lease, or restarted): it may write it back only when the record still
   * carries this server (adopted), so nobody else changed it meanwhile. Otherwise the
   * pending change is lost to the other server's, and reported.
   */
  private async reclaim(id: string): Promise<void> {
    await this.chain.run(id, async () => {
      if (this.kept.has(id) || this.journal.get(id) === undefined) return;
      // Registering again (or adopting) is under way: decide once this server's rows carry its epoch.
      if (this.ownership.exclusiveForMs() === 0) throw unavailable();
      const lease = this.ownership.lease;
      const rec = await this.store.load(id);
      const here = this.local.get(id);
      if (rec !== undefined && rec.owner === lease.serverId && rec.ownerEpoch < lease.epoch) throw unavailable(); // not adopted yet
      if (rec === undefined || rec.owner !== lease.serverId || rec.ownerEpoch !== lease.epoch) {
        if (rec === undefined && here === undefined) return this.journal.remove(id); // a destroy, done by someone
        this.lost(id, rec === undefined ? 'absent' : 'inherited');
        return;
      }
      const r = await this.store.takeTurn(lease, id, this.g.turnMs, rec.version, true);
      if (r?.record === undefined || r.record.version !== rec.version) return this.lost(id, 'changed');
      this.known.set(id, { version: rec.version, createdAtMs: rec.createdAtMs });
      this.kept.add(id);
    });
  }

  private lost(id: string, why: string): void {
    this.counters.writeBackLost++;
    this.journal.remove(id);
    this.kept.delete(id);
    this.known.delete(id); // the next turn reloads the global record over the local copy
    this.logger.warn('global_write_back_lost', { why });
  }

  /** Writes pending sessions back, oldest first, writeBackBatchMax per statement. One flush at a time. */
  flush(): Promise<void> {
    this.flushing ??= this.doFlush().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async doFlush(): Promise<void> {
    if (this.stopped) return;
    this.journal.dropSettled(this.g.pendingKeepMs);
    try {
      for (const [id] of this.journal.list()) if (!this.kept.has(id)) await this.reclaim(id);
      let batch: string[];
      do {
        batch = this.journal
          .list()
          .map(([id]) => id)
          .filter((id) => this.kept.has(id) && !this.holder.handing.has(id))
          .slice(0, this.g.writeBackBatchMax);
        if (batch.length > 0) await this.writeIds(batch);
      } while (batch.length === this.g.writeBackBatchMax);
    } catch (e) {
      this.counters.writeBackFailures++;
      if (!isSessiondError(e, 'SESSIOND_GLOBAL_UNAVAILABLE')) this.logger.warn('global_write_back_failed', { code: isSessiondError(e) ? e.code : 'unknown' });
    }
  }

  /** Writes the local state of held sessions back (in their chains, so no hand-over interleaves). */
  private async writeIds(ids: readonly string[]): Promise<void> {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const inside = ids.map((id) => new Promise<void>((entered) => void this.chain.run(id, () => (entered(), gate))));
    await Promise.all(inside);
    try {
      await this.writeNow(ids.filter((id) => this.kept.has(id) && this.journal.get(id) !== undefined));
    } finally {
      open();
    }
  }

  /** The write-back itself; the caller is inside the sessions' chains. */
  private async writeNow(ids: readonly string[]): Promise<void> {
    const lease = this.ownership.lease;
    const snaps = new Map<string, SessionState | undefined>();
    const items: BatchWrite[] = [];
    for (const id of ids) {
      const k = this.known.get(id);
      if (k === undefined) continue; // cannot happen for a held session; reclaimed next time
      const s = this.local.get(id);
      snaps.set(id, s);
      if (s === undefined) {
        const outcome = await this.store.destroy(lease, id, k.version);
        if (outcome === 'ok' || outcome === 'absent') {
          this.known.delete(id);
          this.kept.delete(id);
          this.done(id, s, false);
        } else {
          this.logger.warn('global_write_back_fenced', { outcome, expectedVersion: k.version });
          this.unkeep(id);
        }
        continue;
      }
      items.push({ id, expectedVersion: k.version, w: toWrite(s, k) });
    }
    const outcomes = await this.store.writeBatch(lease, items);
    for (const [i, x] of items.entries()) {
      const outcome = outcomes[i]!;
      if (outcome === 'ok') {
        this.known.set(x.id, { version: x.expectedVersion + 1, createdAtMs: x.w.createdAtMs });
        this.done(x.id, snaps.get(x.id), true);
      } else if (outcome === 'absent') this.lost(x.id, outcome);
      else {
        this.logger.warn('global_write_back_fenced', { outcome, expectedVersion: x.expectedVersion });
        this.unkeep(x.id);
      }
    }
  }

  /**
   * Fenced: this server's lease lapsed, or another server took the session. It stays pending;
   * reclaim() decides which, once this server is registered again (its rows adopted).
   */
  private unkeep(id: string): void {
    this.kept.delete(id);
    this.known.delete(id);
  }

  /**
   * Written back: no longer pending unless the session changed again meanwhile. A session
   * still held keeps its mark for pendingKeepMs (`settle`), so that its next change is
   * acknowledged without another fdatasync of the journal.
   */
  private done(id: string, snapshot: SessionState | undefined, held: boolean): void {
    this.counters.writeBackWritten++;
    // By LSN: the cache hands out a new object for the same change once it is durable.
    if (this.local.get(id)?.lsn !== snapshot?.lsn) return;
    if (held && this.g.pendingKeepMs > 0) this.journal.settle(id);
    else this.journal.remove(id);
  }

  stats(): WriteBackStats {
    const oldest = this.journal.list()[0]?.[1].sinceMs;
    return {
      writeBackPending: this.journal.count,
      writeBackLagMs: oldest === undefined ? 0 : Math.floor(performance.now() - oldest),
      ...this.counters,
    };
  }

  /** Stops the timers; with `drain`, writes back what is pending and releases every held session first. */
  async stop(drain: boolean): Promise<void> {
    this.tick.stop();
    this.holder.stopPolling();
    if (drain) {
      await this.flush().catch(() => undefined);
      this.journal.dropSettled(0); // a clean stop leaves no mark to replay
      await this.journal.sync().catch(() => undefined); // before any turn is released (as a hand-over)
      if (this.journal.count === 0) {
        for (const id of [...this.kept]) await this.chain.run(id, () => this.store.releaseTurn(this.ownership.lease, id)).catch(() => undefined);
        this.kept.clear();
      }
    }
    this.stopped = true;
    await this.flushing;
    await this.holder.close();
    await this.journal.close();
  }
}

function unavailable(): SessiondError {
  return new SessiondError('SESSIOND_GLOBAL_UNAVAILABLE', 'this server is registering again; the write-back waits for it');
}

/** Writes back what a back-mode run left pending and stops; SESSIOND_GLOBAL_UNAVAILABLE when some is left (a through-mode server starting). */
export async function drainLeftovers(wb: WriteBack): Promise<void> {
  await wb.flush();
  const left = wb.pending.count;
  await wb.stop(true);
  if (left > 0) throw new SessiondError('SESSIOND_GLOBAL_UNAVAILABLE', `${left} sessions changed in back mode are still waiting for write-back`, { pending: left });
}
