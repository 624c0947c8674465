import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waits until a server process is idle, so a benchmark run starts with the server settled
 * and the work a run left behind (sessiond's flusher checkpointing a run's SETs into the
 * database file, a redis-server's background rewrite) is charged to that run, not the next.
 *
 * Idle: the process's CPU time (user + system, every thread) grows by less than
 * `idleFraction` of one core over `windowMs`. /proc counts in 10 ms ticks, so with the
 * defaults (2% of 300 ms = 6 ms) a window is idle when no tick was charged in it.
 */
export interface SettleOptions {
  /** The process's CPU time so far, in ms (processCpuMs of its pid, user + system). */
  readonly cpuMs: () => number;
  readonly windowMs?: number;
  readonly idleFraction?: number;
  /** Gives up after this long (the result says `idle: false`). */
  readonly capMs?: number;
  /** For tests: the clock and the wait between two readings. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<unknown>;
}

export interface Settled {
  /** Whether an idle window was seen before the cap. */
  readonly idle: boolean;
  /** From the call to the end of the first idle window (or the cap). */
  readonly settleMs: number;
  /** CPU the process used meanwhile, in ms. */
  readonly cpuMs: number;
}

export const SETTLE_WINDOW_MS = 300;
export const SETTLE_IDLE_FRACTION = 0.02;
export const SETTLE_CAP_MS = 30_000;

export async function waitUntilIdle(o: SettleOptions): Promise<Settled> {
  const windowMs = o.windowMs ?? SETTLE_WINDOW_MS;
  const fraction = o.idleFraction ?? SETTLE_IDLE_FRACTION;
  const capMs = o.capMs ?? SETTLE_CAP_MS;
  const now = o.now ?? (() => performance.now());
  const wait = o.sleep ?? sleep;
  const t0 = now();
  const cpu0 = o.cpuMs();
  let last = cpu0;
  let windowStart = t0;
  for (;;) {
    await wait(windowMs);
    const cpu = o.cpuMs();
    const t = now();
    const elapsed = t - t0;
    // Against the window's real length: on a loaded machine a sleep can last longer.
    const idle = cpu - last < fraction * Math.max(windowMs, t - windowStart);
    last = cpu;
    windowStart = t;
    if (idle) return { idle: true, settleMs: elapsed, cpuMs: cpu - cpu0 };
    if (elapsed >= capMs) return { idle: false, settleMs: elapsed, cpuMs: cpu - cpu0 };
  }
}
