/** The wall clock, passed in so tests can move time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Calls `fn` every `ms` of this clock's time; returns the cancel function. Optional: a
   * clock without it gets real timers (see startInterval). Tests use a ManualClock with
   * `timers: true` so moving the clock fires the engine's timers, without real waits.
   */
  setInterval?(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/** The engine's periodic timers: the clock's own, else a real one that keeps no process alive. */
export function startInterval(clock: Clock, fn: () => void, ms: number): () => void {
  if (clock.setInterval !== undefined) return clock.setInterval(fn, ms);
  const t = setInterval(fn, ms);
  t.unref();
  return () => clearInterval(t);
}

interface ManualTimer {
  dueMs: number;
  readonly everyMs: number;
  readonly fn: () => void;
}

/** A clock tests move by hand; with `timers: true`, advance() fires the intervals it passes, in time order. */
export class ManualClock implements Clock {
  setInterval?: (fn: () => void, ms: number) => () => void;
  private readonly timers = new Set<ManualTimer>();

  constructor(
    private ms = 1_700_000_000_000,
    options: { timers?: boolean } = {},
  ) {
    if (options.timers === true) {
      this.setInterval = (fn, everyMs) => {
        const t: ManualTimer = { dueMs: this.ms + everyMs, everyMs: Math.max(1, everyMs), fn };
        this.timers.add(t);
        return () => this.timers.delete(t);
      };
    }
  }

  now(): number {
    return this.ms;
  }

  advance(ms: number): void {
    const target = this.ms + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.timers) if (t.dueMs <= target && (next === undefined || t.dueMs < next.dueMs)) next = t;
      if (next === undefined) break;
      this.ms = Math.max(this.ms, next.dueMs);
      next.dueMs += next.everyMs;
      next.fn();
    }
    this.ms = target;
  }

  /** Jumps to `ms`; a step forward fires the timers it passes, a step back none. */
  set(ms: number): void {
    if (ms > this.ms) this.advance(ms - this.ms);
    else this.ms = ms;
  }
}

/**
 * "Now" that never goes back (docs/durability.md, clock jumps): the highest wall-clock time
 * seen in this process, raised at open to the newest time found in the store's files.
 * A wall clock stepped back cannot bring an expired or destroyed session back; a step
 * forward is kept (that cannot be undone).
 */
export class MonotonicClock implements Clock {
  /** The wall clock's timers (a ManualClock's fire on advance): the engine's timers run on them. */
  readonly setInterval?: (fn: () => void, ms: number) => () => void;

  constructor(
    private readonly wall: Clock,
    private floorMs = 0,
  ) {
    if (wall.setInterval !== undefined) this.setInterval = (fn, ms) => wall.setInterval!(fn, ms);
  }

  now(): number {
    const t = this.wall.now();
    if (t > this.floorMs) this.floorMs = t;
    return this.floorMs;
  }

  /** Raises the floor to a time seen before (recovery: the newest time in the files). */
  raise(ms: number): void {
    if (ms > this.floorMs) this.floorMs = ms;
  }
}
