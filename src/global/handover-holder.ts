import type { SessionEngine } from '../engine/session-engine.js';
import { isSessiondError } from '../errors.js';
import type { Logger } from '../options.js';
import type { GlobalStore, HandoverListener } from './global-store.js';
import type { GlobalOptions } from './global-options.js';
import type { KeyedChain } from './keyed-chain.js';
import type { Ownership } from './ownership.js';
import type { PendingJournal } from './pending-journal.js';

/** Hand-over requests served per poll of the fallback. */
const HANDOVER_POLL_MAX = 256;

/** What the holder needs of the write-back (write-back.ts): the sessions held, and its steps run inside a session's chain. */
export interface HandoverHost {
  readonly kept: Set<string>;
  /** True once the write-back stops: no request is served from then on. */
  stopped(): boolean;
  /** Decides a session pending write-back that this server does not hold (write-back.ts `reclaim`). */
  reclaim(id: string): Promise<void>;
  /** Writes held sessions back; the caller is inside their chains. */
  writeNow(ids: readonly string[]): Promise<void>;
}

export interface HandoverDeps {
  local: SessionEngine;
  store: GlobalStore;
  ownership: Ownership;
  g: GlobalOptions;
  journal: PendingJournal;
  chain: KeyedChain;
  logger: Logger;
  counters: { handoversGiven: number };
  /** The turn of a session was released (the waiters' alarms, release-alarms.ts). */
  released(id: string): void;
}

/**
 * Back mode's hand-over, the holder's side (docs/failover.md §Back mode, hand-over): another
 * server asked for a session this one holds, by a notification on the listener or, as the
 * fallback, a marked row its poll reads; the session is written back, then its turn released.
 * The poll also (re)subscribes when the listener is gone.
 */
export class HandoverHolder {
  private readonly handingNow = new Set<string>();
  private readonly pollTimer: NodeJS.Timeout;
  private listener: HandoverListener | undefined;
  /** The listener that was live at the last poll: while it still is, the poll sends no statement. */
  private polledWhileLive: HandoverListener | undefined;
  private subscribing: Promise<void> | undefined;

  constructor(
    private readonly host: HandoverHost,
    private readonly d: HandoverDeps,
  ) {
    this.pollTimer = setInterval(() => void this.poll(), d.g.handoverPollMs).unref();
    void this.poll();
  }

  /** Sessions being handed over now: the write-back leaves them to the hand-over. */
  get handing(): ReadonlySet<string> {
    return this.handingNow;
  }

  /** Whether hand-over notifications arrive now (the listener is up). */
  get live(): boolean {
    return this.listener?.live === true;
  }

  /** Another server asked for the session: write it back, then release its turn (after the requests here). */
  async handover(id: string): Promise<void> {
    if (this.handingNow.has(id) || this.host.stopped()) return;
    this.handingNow.add(id);
    const { local, store, ownership, journal, chain } = this.d;
    const kept = this.host.kept;
    try {
      // Held by an older run of this server (restarted, or registered again): its pending change goes first.
      if (!kept.has(id) && journal.get(id) !== undefined) await this.host.reclaim(id);
      if (!kept.has(id)) {
        if (journal.get(id) === undefined) await chain.run(id, () => store.releaseTurn(ownership.lease, id));
        return;
      }
      const release = await local.lock(id);
      try {
        await chain.run(id, async () => {
          if (!kept.has(id)) return;
          if (journal.get(id) !== undefined) await this.host.writeNow([id]);
          if (journal.get(id) !== undefined) return; // fenced (reclaim() decides) or changed under us: the turn stays
          journal.remove(id); // its kept mark, if any
          await journal.sync(); // the next owner's changes must never be overwritten by a replayed pending mark
          kept.delete(id);
          await store.releaseTurn(ownership.lease, id);
          this.d.counters.handoversGiven++;
        });
      } finally {
        release();
      }
    } catch (e) {
      this.d.logger.warn('global_handover_failed', { code: isSessiondError(e) ? e.code : 'unknown' });
    } finally {
      this.handingNow.delete(id);
    }
  }

  /**
   * The polling fallback, and (re)subscribing to notifications when the connection was lost.
   * While the listener has been live since the last poll, every request in that time came as
   * a notification, so the poll sends no statement (a waiter asks again every handoverPollMs,
   * which notifies again); the first poll after it went live reads what was asked before.
   * A poll that failed does not count: the next one reads the requests again. The mark is
   * set before the statement, so the periods that pass while it is on its way send none.
   */
  private async poll(): Promise<void> {
    if (this.host.stopped()) return;
    const live = this.listener?.live === true ? this.listener : undefined;
    if (live !== undefined && this.polledWhileLive === live) return;
    this.polledWhileLive = live;
    // The listener keeps one pool connection for good: never the only one (then polling alone).
    if (live === undefined && this.d.g.poolMax > 1) this.subscribing ??= this.subscribe().finally(() => (this.subscribing = undefined));
    try {
      const ids = await this.d.store.handoverRequests(this.d.ownership.lease, HANDOVER_POLL_MAX);
      for (const id of ids) void this.handover(id);
    } catch (e) {
      this.polledWhileLive = undefined; // what was asked before may be unread yet
      if (!isSessiondError(e, 'SESSIOND_GLOBAL_UNAVAILABLE')) this.d.logger.warn('global_handover_poll_failed', { code: isSessiondError(e) ? e.code : 'unknown' });
    }
  }

  private async subscribe(): Promise<void> {
    try {
      const l = await this.d.store.subscribe(this.d.g.serverId, {
        handover: (id) => void this.handover(id),
        released: (id) => this.d.released(id),
      });
      if (this.host.stopped()) await l.close();
      else this.listener = l;
    } catch {
      // Unreachable now: polling covers it, and the next poll subscribes again.
    }
  }

  /** Stops the poll's timer; requests that come as notifications are still served. */
  stopPolling(): void {
    clearInterval(this.pollTimer);
  }

  /** Closes the listener once any subscribing has ended; the write-back has stopped (`host.stopped()`). */
  async close(): Promise<void> {
    await this.subscribing;
    await this.listener?.close();
  }
}
