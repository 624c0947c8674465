/** The wall clock, passed in so tests can move time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private ms = 1_700_000_000_000) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
}

/**
 * "Now" that never goes back (docs/durability.md, clock jumps): the highest wall-clock time
 * seen in this process, raised at open to the newest time found in the store's files.
 * A wall clock stepped back cannot bring an expired or destroyed session back; a step
 * forward is kept (that cannot be undone).
 */
export class MonotonicClock implements Clock {
  constructor(
    private readonly wall: Clock,
    private floorMs = 0,
  ) {}

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
