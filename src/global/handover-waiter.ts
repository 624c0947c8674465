import { performance } from 'node:perf_hooks';
import type { SessionEngine } from '../engine/session-engine.js';
import { SessiondError } from '../errors.js';
import type { GlobalStore } from './global-store.js';
import type { GlobalOptions } from './global-options.js';
import type { Ownership } from './ownership.js';
import type { ReleaseAlarms } from './release-alarms.js';

/** What a waiter uses (write-back.ts gives it once). */
export interface HandoverWaiter {
  local: SessionEngine;
  store: GlobalStore;
  ownership: Ownership;
  g: GlobalOptions;
  alarms: ReleaseAlarms;
  counters: { handoversAsked: number };
  /** Sessions whose turn this server holds for good: a turn taken is added at once. */
  kept: Set<string>;
  /** Whether release messages arrive now (the holder's listener is up, handover-holder.ts). */
  live(): boolean;
}

/**
 * Back mode's hand-over, the waiter's side (docs/failover.md §Back mode, hand-over): tries the
 * session's turn; while another live server holds it, asks it to hand the session over and
 * waits (woken by its release, polling as the fallback) up to queueWaitMsMax.
 */
export async function waitForHandover(w: HandoverWaiter, id: string, take: () => Promise<'held' | 'absent' | 'busy'>): Promise<void> {
  const deadline = performance.now() + w.local.options.queueWaitMsMax;
  let askedAt = -Infinity;
  // Listening from the first try on: a release that lands while a try or the ask is on its
  // way (that try may have seen the turn still held) ends the next wait at once.
  const alarm = w.alarms.alarm(id);
  try {
    for (let pause = firstPause(w); ; pause = Math.min(pause * 2, w.g.handoverPollMs)) {
      alarm.rearm();
      const got = await take();
      if (got === 'absent') return; // nothing to hold: a save creates the record, held
      if (got === 'held') {
        w.kept.add(id);
        return;
      }
      if (performance.now() - askedAt >= w.g.handoverPollMs) {
        askedAt = performance.now();
        w.counters.handoversAsked++;
        await w.store.requestHandover(w.ownership.lease, id);
      }
      const left = deadline - performance.now();
      if (left <= 0) throw new SessiondError('SESSIOND_QUEUE_TIMEOUT', 'another server holds the session and did not hand it over', { queueWaitMsMax: w.local.options.queueWaitMsMax });
      // Released, yet the next try may find another waiter took it first, which cleared the
      // request: that new holder is then asked at once, not after handoverPollMs.
      if (await alarm.wait(Math.min(pause, left))) askedAt = -Infinity;
    }
  } finally {
    alarm.close();
  }
}

/**
 * The first pause of a waiter: 1 ms (doubling) when polling is all it has; while the
 * subscription is live the release message wakes it, and polling is only the fallback for
 * a turn that ends without one (its holder gone, a message lost).
 */
function firstPause(w: HandoverWaiter): number {
  return w.live() ? Math.min(w.g.handoverFallbackMs, w.g.handoverPollMs) : 1;
}
