import { isSessiondError } from '../errors.js';
import type { Release } from './engine-handle.js';

/** Anything that hands out per-session turns: a SessionEngine, an EngineHandle, an adapter's store. */
export interface TurnSource {
  lock(id: string): Promise<Release>;
  /** The turn at once when it is free, else undefined (then lock); optional. */
  lockNow?(id: string): Release | undefined;
  /** Seconds to put in Retry-After when a turn is refused. */
  retryAfterS?(): number;
  /** An engine's options (SessionEngine has them). */
  readonly options?: { readonly queueWaitMsMax: number };
}

/** Retry-After for a refused turn: the longest a turn can be waited for, in whole seconds (at least 1). */
export function retryAfterS(queueWaitMsMax: number | undefined): number {
  return Math.max(1, Math.ceil((queueWaitMsMax ?? 1000) / 1000));
}

export function retryAfterOf(source: TurnSource): number {
  return typeof source.retryAfterS === 'function' ? source.retryAfterS() : retryAfterS(source.options?.queueWaitMsMax);
}

/** The turn each serialized request took, by its request object (the framework's or node's). */
const turnsByRequest = new WeakMap<object, RequestTurn>();

/** Remembers the turn `request` took, so the store can tell a change made inside it from a late one. */
export function bindTurn(request: object, turn: RequestTurn): void {
  turnsByRequest.set(request, turn);
}

/**
 * True when `request` took its session's turn and has given it back already (its client went
 * away, or its response finished) while its handler still runs: a change it makes now is
 * outside the turn. Applied, it would overwrite whatever the requests that ran since then
 * changed, with a state computed from what this one read before (a lost update). Requests
 * that took no turn (no session cookie, no serialization middleware) are never "ended".
 */
export function turnEnded(request: unknown): boolean {
  return typeof request === 'object' && request !== null && turnsByRequest.get(request)?.over === true;
}

/**
 * One request's turn in its session's queue (SPEC E8). Taken before the session is loaded,
 * given back exactly once when the request ends, however it ends: response finished,
 * connection closed, error, timeout, abort. If the request ends while still waiting, the
 * turn is handed on the moment it arrives, so an abandoned request never blocks the queue.
 */
export class RequestTurn {
  private release: Release | undefined;
  private ended = false;

  /**
   * Takes the turn at once when the source can and it is free: true, and the request goes
   * on in the same tick (no promise). False: take it with acquire().
   */
  holdNow(source: TurnSource, id: string): boolean {
    const release = typeof source.lockNow === 'function' ? source.lockNow(id) : undefined;
    if (release === undefined) return false;
    if (this.ended) release();
    else this.release = release;
    return !this.ended;
  }

  /** Resolves true when the turn is held; false when the request ended while it waited. */
  async acquire(source: TurnSource, id: string): Promise<boolean> {
    const release = await source.lock(id);
    if (this.ended) {
      release();
      return false;
    }
    this.release = release;
    return true;
  }

  /** The request is over: the turn was given back (or will be the moment it arrives). */
  get over(): boolean {
    return this.ended;
  }

  /** The request is over. Safe to call from every end event: only the first does anything. */
  end(): void {
    this.ended = true;
    const release = this.release;
    this.release = undefined;
    release?.();
  }
}

/** True for the errors a refused turn gives: answer 503 with Retry-After, not 500. */
export function isQueueError(e: unknown): boolean {
  return isSessiondError(e, 'SESSIOND_QUEUE_FULL') || isSessiondError(e, 'SESSIOND_QUEUE_TIMEOUT');
}
