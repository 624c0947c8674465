import { performance } from 'node:perf_hooks';
import { isSessiondError } from '../errors.js';
import { syncCurrent, syncLocal, type LocalCopy } from './local-copy.js';
import type { TurnResult } from './global-store.js';
import { pollTurn } from './polling.js';
import { callNow } from '../util/call-now.js';

/**
 * Taking a session's turn across servers for the composed engine (global-session-engine.ts):
 * a lease on its global record, which also makes this server the owner, and the local copy
 * brought up to the record it returns (local-copy.ts).
 */

/** The engine's state a turn changes (shared with the engine, never copied). */
export interface TurnScope extends LocalCopy {
  /** Through mode: monotonic ms at which the statement taking each held turn was sent. */
  readonly turnFrom: Map<string, number>;
}

/** How a turn attempt ended: held (here now), absent (no live record), busy (another live server has it). */
export type Attempt = 'held' | 'absent' | 'busy';

/**
 * One try at the session's turn across servers; the local copy is brought up to the record
 * when taken. Not an async function: every request's turn takes this path, and the common
 * one (the copy current) settles in the store's own promise layer.
 */
export function attempt(c: TurnScope, id: string, hold: boolean): Promise<Attempt> {
  const k = c.known.get(id);
  const sentAt = performance.now();
  const knownVersion = k === undefined || copyExpiredHere(c, id) ? 0 : k.version;
  return callNow(() => c.store.takeTurn(c.ownership.lease, id, c.global.turnMs, knownVersion, hold)).then(
    (r) => took(c, id, r, sentAt),
    (e: unknown) => retryFenced(c, id, hold, e),
  );
}

/**
 * This server's lease lapsed (it was paused or cut off): register again now rather than
 * fail every request until the next heartbeat; a second refusal is final.
 */
async function retryFenced(c: TurnScope, id: string, hold: boolean, e: unknown): Promise<Attempt> {
  if (!isSessiondError(e, 'SESSIOND_FENCED')) throw e;
  await c.ownership.renew();
  const sentAt = performance.now();
  return took(c, id, await c.store.takeTurn(c.ownership.lease, id, c.global.turnMs, 0, hold), sentAt);
}

/** What a try got: busy, or the turn (`sentAt`: when its statement was sent) with the local copy synced. */
function took(c: TurnScope, id: string, r: TurnResult | undefined, sentAt: number): Attempt | Promise<Attempt> {
  if (r === undefined) return 'busy';
  c.turnFrom.set(id, sentAt);
  // The copy current (the common turn): no promise for the sync.
  const current = syncCurrent(c, id, r);
  if (current !== undefined) return current;
  return syncLocal(c, id, r).then((ok) => (ok ? 'held' : 'absent'));
}

/** Through mode: the copy expired by this clock while touches elsewhere kept the record alive (not destroyed here: a retried destroy needs the version). */
function copyExpiredHere(c: TurnScope, id: string): boolean {
  return c.wb() === undefined && c.overlay.get(id) === undefined && !c.local.isDestroyed(id);
}

/** Tries for the turn (not held for good) until no other server has it, at most queueWaitMsMax. */
export function takeTurn(c: TurnScope, id: string): Promise<void> {
  return pollTurn(() => attempt(c, id, false), c.local.options.queueWaitMsMax);
}
