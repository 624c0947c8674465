import type { Release } from '../engine/session-queue.js';
import { isSessiondError } from '../errors.js';
import type { KeyedChain } from './keyed-chain.js';
import type { RecordWrites } from './record-writes.js';
import { attempt, takeTurn, type TurnScope } from './take-turn.js';

/**
 * A request's turn on a session for the composed engine (global-session-engine.ts): the
 * local turn (SessionEngine queue), then the session's turn across servers, counted held
 * until the request's release, which gives it back after the request's last statement
 * (through mode) or keeps it (back mode). The statements of one session go in the order
 * this server issues them (`chain`).
 */

/** The engine's state a request's turn works on (shared with the engine, never copied). */
export interface EngineScope extends TurnScope, RecordWrites {
  /** Turns this server holds, by session: the count of local holders (at most one with the local queue). */
  readonly held: Map<string, number>;
  /** Sessions whose turn the current request gave back with its write (a further change takes it again first). */
  readonly given: Set<string>;
  /** Sessions a request was holding when the lease was found lost: its saves and touches are refused. */
  readonly stale: Set<string>;
  readonly turnFrom: Map<string, number>;
  /** The global statements of one session, in the order this server issues them. */
  readonly chain: KeyedChain;
}

/**
 * Waits for the session's turn on this server, then across servers. Rejects with
 * SESSIOND_QUEUE_TIMEOUT when another server holds it for longer than queueWaitMsMax.
 */
export function lock(c: EngineScope, id: string): Promise<Release> {
  // Not an async function: the local turn is most often free (no promise for it), and the
  // turn across servers is every request's one wait.
  let now: Release | undefined;
  try {
    now = c.local.lockNow(id);
  } catch (e) {
    return Promise.reject(e); // a malformed ID: rejected, as lock() does
  }
  if (now !== undefined) return turnAcross(c, id, now);
  return c.local.lock(id).then((release) => turnAcross(c, id, release));
}

/** The turn across servers, the local turn `release` held: given back with it when that fails. */
function turnAcross(c: EngineScope, id: string, release: Release): Promise<Release> {
  let taken: Promise<unknown>;
  try {
    const wb = c.wb();
    taken = wb !== undefined ? wb.acquire(id, () => c.chain.run(id, () => attempt(c, id, true))) : c.chain.run(id, () => takeTurn(c, id));
  } catch (e) {
    taken = Promise.reject(e);
  }
  return taken.then(
    () => holding(c, id, release),
    (e: unknown) => {
      release();
      throw e;
    },
  );
}

/** The turn across servers is held with the local turn `release`: counted held until the returned release. */
export function holding(c: EngineScope, id: string, release: Release): Release {
  c.held.set(id, (c.held.get(id) ?? 0) + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const n = (c.held.get(id) ?? 1) - 1;
    if (n === 0) {
      c.held.delete(id);
      c.absent.delete(id);
      c.stale.delete(id);
      c.turnFrom.delete(id);
    } else c.held.set(id, n);
    if (c.wb() !== undefined) return release(); // back mode keeps the turn until another server asks
    // Given back after this request's last statement (a touch may still be on its way).
    // Nothing on its way, and the turn still held here or given back with the write: nothing to send.
    if (!c.chain.pending(id) && (c.held.has(id) || c.given.delete(id))) return release();
    c.chain
      .run(id, () => (c.held.has(id) || c.given.delete(id) ? undefined : c.store.releaseTurn(c.ownership.lease, id)))
      .catch((e: unknown) => c.local.options.logger.warn('global_turn_release_failed', { code: isSessiondError(e) ? e.code : 'unknown' }));
    release();
  };
}

/**
 * Runs `fn` holding the session's turn here and across servers (taking it when the caller
 * did not). Through mode with the turn held (every request's write or touch) runs it on the
 * session's chain and returns that promise as it is: no async layer of its own.
 */
export function withTurn<T>(c: EngineScope, id: string, fn: () => Promise<T>): Promise<T> {
  if (c.wb() === undefined && c.held.has(id)) {
    return c.chain.run(id, () => (c.given.delete(id) ? takeTurn(c, id).then(fn) : fn()));
  }
  return withTurnTaken(c, id, fn);
}

/** withTurn in back mode, or taking the turn for this call alone. */
async function withTurnTaken<T>(c: EngineScope, id: string, fn: () => Promise<T>): Promise<T> {
  if (c.wb() !== undefined) {
    // Back mode: only local writes and the pending mark; nothing to order with global statements.
    if (c.held.has(id)) return fn();
    const release = await lock(c, id);
    try {
      return await fn();
    } finally {
      release();
    }
  }
  const release = await lock(c, id);
  try {
    return await c.chain.run(id, fn);
  } finally {
    release();
  }
}

/** Before a change: the version is known, or the turn found no record; otherwise take the turn again (held for good in back mode). */
export async function knowVersion(c: EngineScope, id: string): Promise<void> {
  if (c.known.has(id) || c.absent.has(id)) return;
  const wb = c.wb();
  if (wb !== undefined) await wb.acquire(id, () => c.chain.run(id, () => attempt(c, id, true)));
  else await takeTurn(c, id);
}
