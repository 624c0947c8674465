/**
 * Cuts a long synchronous loop into slices of at most `sliceMsMax` of CPU, yielding one
 * event-loop turn between them, so requests and timers wait at most about one slice
 * behind background work (the flusher encoding thousands of images; docs/benchmarks.md,
 * "The tail"). Use: `if (slice.due()) await slice.next();` once per item.
 *
 * `nowMs` is the engine's clock, passed in: under the simulator's manual clock a slice
 * ends only when the test moves time, so a seeded run replays exactly.
 */
export class LoopSlice {
  /** Turns yielded so far (tests and stats). */
  yields = 0;
  private startedAtMs: number;

  constructor(
    readonly sliceMsMax: number,
    private readonly nowMs: () => number,
  ) {
    this.startedAtMs = nowMs();
  }

  /** True when the current slice has used its time: the caller awaits next() before more work. */
  due(): boolean {
    return this.nowMs() - this.startedAtMs >= this.sliceMsMax;
  }

  /** Yields one event-loop turn (after pending I/O callbacks and timers), then starts a new slice. */
  async next(): Promise<void> {
    this.yields++;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.startedAtMs = this.nowMs();
  }
}
