/**
 * Back mode's hand-over waiters (write-back.ts acquire()): each listens for the release of
 * the session's turn, which the holder announces with the `["r", sid]` message.
 */

/** A waiter's ear for the release of a session's turn (ReleaseAlarms.alarm). */
export interface Alarm {
  /** Forgets releases heard so far: called before each try at the turn. */
  rearm(): void;
  /** True when a release ended it (or had come already), false when `ms` passed. */
  wait(ms: number): Promise<boolean>;
  close(): void;
}

/** The counters the alarms keep (WriteBackStats). */
export interface AlarmCounters {
  handoverWokenByRelease: number;
  handoverWokenByTimer: number;
}

export class ReleaseAlarms {
  private readonly wakers = new Map<string, Set<() => void>>();

  constructor(private readonly counters: AlarmCounters) {}

  /**
   * Listens for the release of the session's turn (the `["r", sid]` message) until closed:
   * wait(ms) resolves at the first release since the last rearm() (at once when one came
   * already), or after `ms` (the polling fallback).
   */
  alarm(id: string): Alarm {
    let rang = false;
    let ring: (() => void) | undefined;
    const onRelease = (): void => {
      rang = true;
      ring?.();
    };
    const set = this.wakers.get(id) ?? new Set();
    this.wakers.set(id, set);
    set.add(onRelease);
    return {
      rearm: () => void (rang = false),
      wait: (ms) =>
        new Promise<boolean>((resolve) => {
          if (rang) {
            this.counters.handoverWokenByRelease++;
            return resolve(true);
          }
          const done = (released: boolean): void => {
            if (released) this.counters.handoverWokenByRelease++;
            else this.counters.handoverWokenByTimer++;
            clearTimeout(timer);
            ring = undefined;
            resolve(released);
          };
          const timer = setTimeout(() => done(false), ms);
          ring = () => done(true);
        }),
      close: () => {
        ring = undefined;
        set.delete(onRelease);
        if (set.size === 0 && this.wakers.get(id) === set) this.wakers.delete(id);
      },
    };
  }

  /** The release message for `id` came: wakes its waiters. */
  released(id: string): void {
    for (const wake of [...(this.wakers.get(id) ?? [])]) wake();
  }
}
