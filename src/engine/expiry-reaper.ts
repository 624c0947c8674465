import { isExpired, type SessionState } from '../session/session-state.js';
import type { SessionCache } from './session-cache.js';
import type { Tombstones } from './tombstones.js';

/**
 * Reclaims expired sessions in the background at a bounded cost (SPEC E10): each tick
 * examines at most `scanMax` sessions, resuming where the last tick stopped. Expired
 * sessions are never returned even before they are reclaimed (reads check the clock).
 */
export class ExpiryReaper {
  private stopTimer: (() => void) | undefined;
  private cursor: Iterator<SessionState> | undefined;
  /** Over the sessions left on disk (cacheBytesMax): expired without being read back. */
  private coldCursor: Iterator<string> | undefined;
  reclaimed = 0;

  constructor(
    private readonly cache: SessionCache,
    private readonly tombstones: Tombstones,
    private readonly now: () => number,
    private readonly intervalMs: number,
    private readonly scanMax: number,
    private readonly every: (fn: () => void, ms: number) => () => void,
  ) {}

  start(): void {
    this.stopTimer = this.every(() => this.tick(), this.intervalMs);
  }

  stop(): void {
    this.stopTimer?.();
    this.stopTimer = undefined;
  }

  /** One bounded pass; returns the number of sessions reclaimed. */
  tick(): number {
    const now = this.now();
    this.tombstones.sweep(now, this.scanMax);
    let n = 0;
    let examined = 0;
    this.cursor ??= this.cache.visible.values();
    while (examined < this.scanMax) {
      const next = this.cursor.next();
      if (next.done) {
        this.cursor = undefined; // start over on the next tick
        break;
      }
      examined++;
      const s = next.value;
      // A change still waiting for its fsync will replace this state; leave it to the writer.
      if (isExpired(s, now) && this.cache.head(s.id) === s) {
        this.cache.reclaim(s.id, now);
        n++;
      }
    }
    while (examined < this.scanMax && this.cache.cold.size > 0) {
      this.coldCursor ??= this.cache.cold.ids();
      const next = this.coldCursor.next();
      if (next.done) {
        this.coldCursor = undefined;
        break;
      }
      examined++;
      const expiry = this.cache.cold.expiryOf(next.value);
      if (expiry !== undefined && expiry <= now) {
        this.cache.reclaim(next.value, now);
        n++;
      }
    }
    this.reclaimed += n;
    return n;
  }
}
