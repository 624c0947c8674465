import type { Release } from '../engine/session-queue.js';
import type { TouchInput } from '../engine/session-engine.js';
import type { SessionState } from '../session/session-state.js';
import { heldReadBackNow, localTouchSkipped, turnLasts } from './local-copy.js';
import { holding, type EngineScope } from './request-turn.js';

/**
 * The common request with no promise (global-session-engine.ts lockNow, getNow, touchNow):
 * back mode's for a session this server keeps, and through mode's read under a turn that
 * provably lasts. Each answers undefined when it cannot answer at once: the promise path then.
 */

/**
 * The turn at once, with no promise, when the session is kept here, the lease provably
 * lasts and no request here holds it (what lock() does then, without its waits: the
 * write-back's acquire() returns at once for a kept session). Undefined otherwise: lock() then.
 */
export function lockNow(c: EngineScope, id: string): Release | undefined {
  const wb = c.wb();
  if (wb === undefined || !wb.kept.has(id) || c.ownership.exclusiveForMs() === 0) return undefined;
  const release = c.local.lockNow(id);
  return release === undefined ? undefined : holding(c, id, release);
}

/**
 * get() at once: the turn held here and provably lasting (heldRead's common case, in either
 * mode: through mode's copy was synced when the turn was taken). Throws where get() rejects.
 */
export function getNow(c: EngineScope, id: string): { state: SessionState | undefined } | undefined {
  if (!c.held.has(id)) return undefined;
  const wb = c.wb();
  if (wb !== undefined) return heldReadBackNow(c, id, wb);
  return c.absent.has(id) || turnLasts(c, id) ? { state: c.view(c.overlay.get(id)) } : undefined;
}

/**
 * touch() at once when it changes nothing: the turn held here, the version known and the
 * lease provably lasting, and the local copy's touch skipped (touchAfterMs,
 * localTouchSkipped): what the engine's local touch then does, with no promise.
 */
export function touchNow(c: EngineScope, id: string, input: TouchInput): { state: SessionState | undefined } | undefined {
  if (c.wb() === undefined || !c.held.has(id) || c.stale.has(id) || !c.known.has(id) || c.ownership.exclusiveForMs() === 0) return undefined;
  const copy = localTouchSkipped(c.local, id, input, c.global.touchAfterMs, c.local.clock.now());
  return copy === undefined ? undefined : { state: c.view(copy) };
}
