/**
 * Back mode's write-back tick (write-back.ts), armed only while there is work: a server
 * with nothing pending and no kept mark to drop sets no timer at all, so an idle server's
 * event loop is not woken every writeBackMs. While work remains, the tick keeps the rate of
 * a fixed interval (each run writeBackMs after the previous one started), so a change still
 * waits at most writeBackMs (plus the write-back in flight) and a busy server makes no more
 * statements than before.
 */
import type { GlobalOptions } from './global-options.js';
import type { PendingJournal } from './pending-journal.js';

/** The timer functions the tick uses (tests pass their own, to move time themselves). */
export interface TickTimers {
  now(): number;
  set(run: () => void, ms: number): unknown;
  clear(timer: unknown): void;
}

export const REAL_TIMERS: TickTimers = {
  now: () => performance.now(),
  set: (run, ms) => setTimeout(run, ms).unref(),
  clear: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

export class WriteBackTick {
  private timer: unknown;
  /** When the armed timer fires (timers.now() clock); Infinity when none is armed. */
  private dueAt = Infinity;
  /** When the last run started (at first, when the tick was made: the phase of a fixed interval started then). */
  private ranAt: number;
  private stopped = false;

  /**
   * `run` is the write-back; `nextInMs(sinceRunMs)` says, after a run (and when woken by
   * poke()), how long until the next one is wanted given the time since the last run
   * started: undefined when nothing waits.
   */
  constructor(
    private readonly run: () => Promise<void>,
    private readonly nextInMs: (sinceRunMs: number) => number | undefined,
    private readonly timers: TickTimers = REAL_TIMERS,
  ) {
    this.ranAt = timers.now();
  }

  /** Something may wait now (a session became pending): arms the tick unless one is armed as early. */
  poke(): void {
    if (this.stopped) return;
    const now = this.timers.now();
    const ms = this.nextInMs(now - this.ranAt);
    if (ms === undefined || now + ms >= this.dueAt) return;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.dueAt = now + ms;
    this.timer = this.timers.set(() => this.fire(), ms);
  }

  /** Milliseconds until the armed tick fires; undefined when none is armed (tests). */
  get armedInMs(): number | undefined {
    return this.timer === undefined ? undefined : Math.max(0, this.dueAt - this.timers.now());
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    this.dueAt = Infinity;
  }

  private fire(): void {
    this.timer = undefined;
    this.dueAt = Infinity;
    this.ranAt = this.timers.now();
    void this.run().finally(() => this.poke());
  }
}

/**
 * When the write-back wants to run next: at the next writeBackMs boundary since the last run
 * started (as a fixed interval would) while sessions are pending; when only kept marks wait,
 * once the oldest is pendingKeepMs old (and not before that boundary); else never.
 */
export function writeBackDueInMs(
  journal: Pick<PendingJournal, 'count' | 'settledDueInMs'>,
  g: Pick<GlobalOptions, 'writeBackMs' | 'pendingKeepMs'>,
  sinceRunMs: number,
): number | undefined {
  const slotMs = g.writeBackMs - (sinceRunMs % g.writeBackMs);
  if (journal.count > 0) return slotMs;
  const dropInMs = journal.settledDueInMs(g.pendingKeepMs);
  return dropInMs === undefined ? undefined : Math.max(slotMs, dropInMs);
}
