import type { SaveInput, TouchInput } from '../engine/session-engine.js';
import { planSave } from '../engine/write-plan.js';
import type { SessionState } from '../session/session-state.js';
import type { Known } from './known-record.js';
import { localTouchSkipped, touchCopy } from './local-copy.js';
import { commit, destroyRecord, touchRecord } from './record-writes.js';
import { knowVersion, withTurn, type EngineScope } from './request-turn.js';

/**
 * The composed engine's save, touch and destroy (global-session-engine.ts), each under the
 * session's turn (request-turn.ts): written locally, then to the global record with the
 * fence (through mode, record-writes.ts) or marked pending for the write-back (back mode).
 */

export function save(c: EngineScope, id: string, input: SaveInput): Promise<SessionState> {
  return withTurn(c, id, async () => {
    refuseStale(c, id);
    await knowVersion(c, id);
    refuseStale(c, id); // the lease was found lost while the turn was taken again
    const lease = c.ownership.lease;
    const over = overlayed(c, id, input);
    if (over !== undefined && !('attributes' in over)) return c.view(over)!;
    const before = c.local.get(id);
    const state = await c.local.save(id, over ?? input);
    c.overlay.drop(id);
    const k = c.known.get(id);
    // Unchanged against the local engine's copy is unchanged only when that copy was the one
    // served: over a copy in memory (another server's version), a save back to this server's
    // own older copy writes nothing locally yet is a change of the record (overlayed() said so).
    if (k !== undefined && state === before && over === undefined) return c.view(state)!;
    const wb = c.wb();
    if (wb !== undefined && k !== undefined) await wb.changed(id, lease);
    else await commit(c, id, k, state);
    return c.view(state)!;
  });
}

/**
 * Through mode, a save of a session whose copy is in memory (copy-overlay.ts), newer than
 * the local engine's: the copy itself when the save changes nothing in it (as the local
 * engine decides, write-plan.ts), else the input with the copy's expiry and idle timeout
 * where it leaves them out, for the local engine to save over its older copy.
 * Undefined: the local engine's copy is the one.
 */
function overlayed(c: EngineScope, id: string, input: SaveInput): SessionState | SaveInput | undefined {
  const s = c.overlay.has(id) ? c.overlay.get(id) : undefined;
  if (s === undefined) return undefined;
  const plan = planSave(s, id, input, c.local.clock.now(), c.local.options);
  if (!('type' in plan) && c.known.has(id)) return s;
  return { attributes: input.attributes, expiresAtMs: input.expiresAtMs ?? s.expiresAtMs, maxInactiveMs: input.maxInactiveMs ?? s.maxInactiveMs };
}

/**
 * A save or touch of a request whose turn outlived this server's lease (stale): refused
 * before the local copy is changed. Taking the turn again would apply, on top of whatever
 * another server changed meanwhile, a state computed from what the request read before.
 */
function refuseStale(c: EngineScope, id: string): void {
  if (c.stale.has(id)) throw c.ownership.refused('fenced');
}

export function touch(c: EngineScope, id: string, input: TouchInput): Promise<SessionState | undefined> {
  return withTurn(c, id, () => {
    refuseStale(c, id);
    const k = c.known.get(id);
    // The copy's touch is skipped while it moved less than touchAfterMs ago (local-copy.ts).
    // Through mode: the copy is a cache of the record, touched in memory (copy-overlay.ts);
    // the global touch is no new version and gives the turn back (every read-only
    // request's last statement: no async layer of its own). Back mode: the local copy's
    // touch; a skipped touch changed nothing, so nothing is pending.
    if (c.wb() === undefined && k !== undefined) {
      const state = touchCopy(c, id, input);
      if (state === undefined) return Promise.resolve(undefined);
      return touchRecord(c, id, k, input.expiresAtMs).then(() => c.view(state));
    }
    return touchLocal(c, id, input, k);
  });
}

/** touch() of the local copy: back mode, or a session whose record version is not known here. */
async function touchLocal(c: EngineScope, id: string, input: TouchInput, k: Known | undefined): Promise<SessionState | undefined> {
  const lease = c.ownership.lease;
  const wb = c.wb();
  const copy = k !== undefined ? localTouchSkipped(c.local, id, input, c.global.touchAfterMs, c.local.clock.now()) : undefined;
  const state = copy ?? (await c.local.touch(id, input));
  if (state === undefined || k === undefined || wb === undefined) return state;
  if (copy === undefined) await wb.changed(id, lease);
  else wb.checkExclusive();
  return c.view(state);
}

/** The destroy, with the session's turn held. */
export async function destroyHeld(c: EngineScope, id: string): Promise<boolean> {
  // A lease lost mid-request forgot the record's version: take the turn again (under the
  // new lease) so the destroy reaches the record instead of being acknowledged locally only.
  await knowVersion(c, id);
  return destroyRecord(c, id);
}
