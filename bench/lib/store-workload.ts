import type { SessionData, Store } from 'express-session';
import { Prng } from '../../src/util/prng.js';
import { LatencyRecorder, type LatencySummary } from './latency-recorder.js';
import { watchLoopDelay, type LoopDelaySummary } from './loop-delay.js';
import { makeSession, sessionBody, type BenchSession } from './session-data.js';
import { randomSessionId, sessionIds } from './session-ids.js';

export interface PhaseSpec {
  name: string;
  /** operations outstanding at once */
  depth: number;
  /** share of gets; the rest are writes: SET_SHARE sets, TOUCH_SHARE touches, the rest destroys */
  readFraction: number;
  durationMs: number;
}

export interface PhaseResult {
  name: string;
  depth: number;
  readFraction: number;
  ops: number;
  seconds: number;
  opsPerSec: number;
  latency: LatencySummary;
  /** event-loop delay of the process during the phase (the store runs in it) */
  loopDelay: LoopDelaySummary;
  counts: { get: number; set: number; touch: number; destroy: number };
  errors: number;
  firstError?: string;
  /** gets checked against the last acknowledged write of their session, and how many differed */
  checks: number;
  checkFailures: number;
  firstCheckFailure?: string;
}

export const SET_SHARE = 0.7;
export const TOUCH_SHARE = 0.2;
const ERRORS_MAX = 1000;
const DRAIN_MS_MAX = 60_000;

/** Called once when an operation on session `i` is acknowledged. */
type Done = (i: number, err?: unknown) => void;

/** express-session's own rule: a store's ENOENT is a missing session, not an error. */
function isMissing(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}

/** The application's part of a session: without the cookie and write time, which touch may move, or a store's own fields (`__lastAccess`). */
function comparable(s: unknown): string {
  const { cookie: _c, lastSeenAt: _l, ...rest } = s as BenchSession;
  for (const k of Object.keys(rest)) if (k.startsWith('__')) delete rest[k];
  return JSON.stringify(rest);
}

/**
 * N sessions driven through an express-session Store's callback API with a fixed number of
 * operations outstanding. One operation per session at a time, so every get has exactly one
 * right answer: the last acknowledged write (rev), or nothing after a destroy.
 */
export class StoreWorkload {
  readonly ids: string[];
  private readonly bodies: Record<string, unknown>[];
  /** rev of the last acknowledged set; 0 = absent (never set, or destroyed) */
  private readonly revs: Uint32Array;
  private readonly nextRev: Uint32Array;
  private readonly busy: Uint8Array;
  private readonly prng: Prng;
  /** new IDs after a destroy; apart from `prng` so the operation sequence does not depend on completion order */
  private readonly idPrng: Prng;
  private checkState = { checks: 0, failures: 0, first: undefined as string | undefined };

  constructor(
    private readonly store: Store,
    readonly sessions: number,
    private readonly seed: number,
  ) {
    this.ids = sessionIds(sessions, seed);
    this.bodies = this.ids.map((_, i) => sessionBody(seed, i));
    this.revs = new Uint32Array(sessions);
    this.nextRev = new Uint32Array(sessions);
    this.busy = new Uint8Array(sessions);
    this.prng = new Prng(seed + 7);
    this.idPrng = new Prng(seed + 11);
  }

  /** Sets every session once, `depth` at a time. */
  populate(depth: number): Promise<PhaseResult> {
    let next = 0;
    return this.drive({ name: 'populate', depth, readFraction: 0, durationMs: 3600_000 }, (done) => {
      if (next >= this.sessions) return false;
      const i = next++;
      this.busy[i] = 1;
      this.set(i, done);
      return true;
    });
  }

  /** Random sessions, `readFraction` gets and the rest writes, for `durationMs`. */
  run(spec: PhaseSpec): Promise<PhaseResult> {
    return this.drive(spec, (done, counts) => {
      const i = this.pickIdle();
      const r = this.prng.float();
      if (r < spec.readFraction) {
        counts.get++;
        this.get(i, done);
      } else {
        const w = (r - spec.readFraction) / (1 - spec.readFraction);
        if (w < SET_SHARE || this.revs[i] === 0) {
          counts.set++;
          this.set(i, done);
        } else if (w < SET_SHARE + TOUCH_SHARE) {
          counts.touch++;
          this.touch(i, done);
        } else {
          counts.destroy++;
          this.destroy(i, done);
        }
      }
      return true;
    });
  }

  /** Reads every session back once and compares all of it (not only rev) with the last write. */
  async verifyAll(depth: number): Promise<{ checked: number; failures: number; firstFailure?: string }> {
    let next = 0;
    let failures = 0;
    let firstFailure: string | undefined;
    await this.drive({ name: 'verify', depth, readFraction: 1, durationMs: 3600_000 }, (done) => {
      if (next >= this.sessions) return false;
      const i = next++;
      this.busy[i] = 1;
      this.store.get(this.ids[i]!, (err: unknown, sess?: SessionData | null) => {
        const expected = this.revs[i] === 0 ? undefined : makeSession(this.bodies[i]!, this.revs[i]!, this.revs[i]!, 0);
        const got = err !== null && err !== undefined && isMissing(err) ? undefined : (sess ?? undefined);
        const ok = expected === undefined ? got === undefined : got !== undefined && comparable(got) === comparable(expected);
        if (!ok) {
          failures++;
          firstFailure ??= `session ${i}: expected ${expected === undefined ? 'nothing' : `rev ${expected.rev}`}, got ${got === undefined ? 'nothing' : comparable(got).slice(0, 120)}`;
        }
        done(i, err !== null && err !== undefined && !isMissing(err) ? err : undefined);
      });
      return true;
    });
    return { checked: this.sessions, failures, firstFailure };
  }

  private pickIdle(): number {
    let i = this.prng.int(this.sessions);
    while (this.busy[i] === 1) i = i + 1 === this.sessions ? 0 : i + 1;
    this.busy[i] = 1;
    return i;
  }

  private get(i: number, done: Done): void {
    this.store.get(this.ids[i]!, (err: unknown, sess?: SessionData | null) => {
      const missing = isMissing(err);
      if (err !== null && err !== undefined && !missing) return done(i, err);
      const want = this.revs[i]!;
      const got = missing || sess === null || sess === undefined ? 0 : ((sess as unknown as BenchSession).rev ?? -1);
      this.checkState.checks++;
      if (got !== want) {
        this.checkState.failures++;
        this.checkState.first ??= `get of session ${i} returned rev ${got}, the last write was rev ${want}`;
      }
      done(i);
    });
  }

  private set(i: number, done: Done): void {
    const rev = ++this.nextRev[i]!;
    const session = makeSession(this.bodies[i]!, rev, rev, Date.now());
    this.store.set(this.ids[i]!, session as unknown as SessionData, (err?: unknown) => {
      if (err === null || err === undefined) this.revs[i] = rev;
      done(i, err);
    });
  }

  private touch(i: number, done: Done): void {
    const rev = this.revs[i]!;
    const session = makeSession(this.bodies[i]!, rev, rev, Date.now());
    this.store.touch!(this.ids[i]!, session as unknown as SessionData, (err?: unknown) => done(i, err));
  }

  private destroy(i: number, done: Done): void {
    this.store.destroy(this.ids[i]!, (err?: unknown) => {
      if (err === null || err === undefined || isMissing(err)) {
        // express-session gives the next session of this user a new ID (regenerate); so do we.
        // sessiond refuses saves to a destroyed ID for tombstoneMs, as a late request's save must not revive it.
        this.revs[i] = 0;
        this.ids[i] = randomSessionId(this.idPrng);
        return done(i);
      }
      done(i, err);
    });
  }

  /**
   * Keeps `depth` operations outstanding until `durationMs` passes or `issue` runs out.
   * Written as a loop, not recursion, so stores that call back synchronously work too.
   */
  private drive(spec: PhaseSpec, issue: (done: Done, counts: PhaseResult['counts']) => boolean): Promise<PhaseResult> {
    const recorder = new LatencyRecorder(1 << 20, this.seed);
    const loopDelay = watchLoopDelay();
    const counts = { get: 0, set: 0, touch: 0, destroy: 0 };
    this.checkState = { checks: 0, failures: 0, first: undefined };
    let inflight = 0;
    let completed = 0;
    let errors = 0;
    let firstError: string | undefined;
    let stopping = false;
    let pumping = false;
    let finished = false;
    const t0 = performance.now();
    const endAt = t0 + spec.durationMs;
    return new Promise<PhaseResult>((resolve, reject) => {
      const finish = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(drainTimer);
        const seconds = (performance.now() - t0) / 1000;
        resolve({
          name: spec.name,
          depth: spec.depth,
          readFraction: spec.readFraction,
          ops: completed,
          seconds,
          opsPerSec: completed / seconds,
          latency: recorder.summary(),
          loopDelay: loopDelay(),
          counts,
          errors,
          ...(firstError !== undefined ? { firstError } : {}),
          checks: this.checkState.checks,
          checkFailures: this.checkState.failures,
          ...(this.checkState.first !== undefined ? { firstCheckFailure: this.checkState.first } : {}),
        });
      };
      const drainTimer = setTimeout(() => {
        if (!finished) reject(new Error(`${spec.name}: ${inflight} operations still outstanding ${DRAIN_MS_MAX} ms after the phase`));
      }, spec.durationMs + DRAIN_MS_MAX);
      drainTimer.unref();
      const pump = (): void => {
        pumping = true;
        while (!stopping && inflight < spec.depth) {
          if (performance.now() >= endAt || errors >= ERRORS_MAX) {
            stopping = true;
            break;
          }
          const started = performance.now();
          let called = false;
          inflight++;
          const more = issue((i: number, err?: unknown) => {
            if (called) return;
            called = true;
            this.busy[i] = 0;
            recorder.record(performance.now() - started);
            if (err !== null && err !== undefined) {
              errors++;
              firstError ??= err instanceof Error ? err.message : String(err);
            }
            inflight--;
            completed++;
            if (!pumping) pump();
          }, counts);
          if (!more) {
            inflight--;
            stopping = true;
          }
        }
        pumping = false;
        if (stopping && inflight === 0) finish();
      };
      pump();
    });
  }
}
