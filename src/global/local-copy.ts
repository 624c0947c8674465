import { performance } from 'node:perf_hooks';
import type { SessionEngine, TouchInput } from '../engine/session-engine.js';
import { checkTouchInput } from '../engine/engine-arguments.js';
import { checkTime } from '../engine/write-plan.js';
import { makeState, type SessionState } from '../session/session-state.js';
import { isSessiondError } from '../errors.js';
import { attributesFromBlob } from '../session/attributes.js';
import type { GlobalRecord, GlobalStore, TurnResult } from './global-store.js';
import type { GlobalOptions } from './global-options.js';
import type { Ownership } from './ownership.js';
import type { Known } from './known-record.js';
import type { WriteBack } from './write-back.js';
import { destroyLost, recreateLost, resendLost, tombstoneLost, type RepairScope } from './lost-changes.js';
import type { CopyOverlay } from './copy-overlay.js';

/**
 * The composed engine's local copy of a session against its global record
 * (global-session-engine.ts): bringing the copy up to the record a turn returned, and when
 * a read may be answered from the copy without asking the global store (docs/failover.md
 * §Reads after a pause).
 */

/** The engine's state these functions work on (shared with the engine, never copied). */
export interface LocalCopy {
  readonly local: SessionEngine;
  /** The copy served: through mode's in-memory copies over the local engine's (copy-overlay.ts). */
  readonly overlay: CopyOverlay;
  readonly store: GlobalStore;
  readonly ownership: Ownership;
  readonly global: GlobalOptions;
  /** The record version each local copy mirrors. */
  readonly known: Map<string, Known>;
  /** Held turns that found no record. */
  readonly absent: Set<string>;
  /** Held turns that outlived this server's lease. */
  readonly stale: ReadonlySet<string>;
  /** Through mode: turns given back with the request's write. */
  readonly given: ReadonlySet<string>;
  /** Through mode: monotonic ms at which each held turn's statement was sent. */
  readonly turnFrom: ReadonlyMap<string, number>;
  wb(): WriteBack | undefined;
  view(s: SessionState | undefined): SessionState | undefined;
}

/**
 * A read under a turn this server holds (a request between lock() and its release). The
 * local copy is served without asking the global store only while the turn provably lasts
 * by this server's monotonic clock: back mode, while its lease does (from when the renewal
 * was sent, less clockDriftMarginMs); through mode, while the turn (from when the statement
 * taking it was sent, less the margin) and the lease do. Past that (the process was paused
 * or cut off mid-request) another server may have taken the session and changed it: back
 * mode refuses (the record may lag the holder's copy, so it is no answer either); through
 * mode reads the record and serves the local copy only at the record's version. Nothing
 * here takes the turn again: the request's saves stay fenced against what it read first.
 */
export function heldRead(c: LocalCopy, id: string): Promise<SessionState | undefined> {
  // Not an async function: every request's read takes this path, and through mode's is answered at once.
  const here = c.overlay.get(id);
  if (c.absent.has(id)) return Promise.resolve(c.view(here));
  const wb = c.wb();
  if (wb !== undefined) return heldReadBack(c, id, wb, here);
  if (turnLasts(c, id)) return Promise.resolve(c.view(here));
  return readRecord(c, id);
}

/** Through mode: the held turn provably lasts (from when its statement was sent, less the margin) and so does the lease. */
export function turnLasts(c: LocalCopy, id: string): boolean {
  const from = c.turnFrom.get(id);
  const lasts = from !== undefined && !c.given.has(id) && !c.stale.has(id) && performance.now() < from + c.global.turnMs - c.global.clockDriftMarginMs;
  return lasts && c.ownership.exclusiveForMs() > 0;
}

/** heldRead in back mode. */
async function heldReadBack(c: LocalCopy, id: string, wb: WriteBack, here: SessionState | undefined): Promise<SessionState | undefined> {
  if (c.ownership.exclusiveForMs() === 0) await c.ownership.renew();
  return keptCopy(c, id, wb, here);
}

/**
 * heldRead in back mode answered at once, with no promise (every request's read on a server
 * that keeps its sessions): `{ state }`, or undefined when the lease must be renewed first
 * (heldRead then). Throws where heldRead rejects.
 */
export function heldReadBackNow(c: LocalCopy, id: string, wb: WriteBack): { state: SessionState | undefined } | undefined {
  const here = c.overlay.get(id);
  if (c.absent.has(id)) return { state: c.view(here) };
  if (c.ownership.exclusiveForMs() === 0) return undefined;
  return { state: keptCopy(c, id, wb, here) };
}

/** The held copy, once the lease is known to last (or renewed). */
function keptCopy(c: LocalCopy, id: string, wb: WriteBack, here: SessionState | undefined): SessionState | undefined {
  // Not held any more with a copy here: the lease was lost (forgotten), or a write-back was fenced.
  if (c.stale.has(id) || (!wb.kept.has(id) && here !== undefined)) throw c.ownership.refused('fenced');
  if (here !== undefined) wb.checkExclusive();
  return c.view(here); // undefined: destroyed by this request
}

/**
 * Through mode: the local copy when its touch can be skipped, by the rule the global store
 * throttles the record's touch with (redis/session-rows.ts TOUCH): the copy's last access
 * moved less than touchAfterMs ago (or half its idle timeout, when shorter), and the
 * expiry asked for is at most that much later than the copy's (never earlier). The copy
 * is a cache of the record, which is the truth: it lags the touch by less than that,
 * as the record does, and a copy that expired here while the record lives is loaded
 * again at the next turn (copyExpiredHere). Skipping it saves a log record, its group
 * commit and the flusher's image write on every read of a session (docs/failover.md
 * §Protocol "Touch"). Undefined: touch the copy.
 */
export function localTouchSkipped(copies: Pick<SessionEngine, 'get'>, id: string, input: TouchInput, touchAfterMs: number, now: number): SessionState | undefined {
  // Checked here as the local touch would: a bad expiry is refused, never sent to the record.
  checkTouchInput(input);
  checkTime('expiresAtMs', input.expiresAtMs, Number.MAX_SAFE_INTEGER);
  const s = copies.get(id);
  if (s === undefined) return undefined;
  const after = s.maxInactiveMs > 0 ? Math.min(touchAfterMs, Math.floor(s.maxInactiveMs / 2)) : touchAfterMs;
  if (now >= s.lastAccessAtMs + after) return undefined;
  const x = input.expiresAtMs;
  return x === undefined || (x >= s.expiresAtMs && x < s.expiresAtMs + after) ? s : undefined;
}

/**
 * Through mode: the copy's touch, in memory (copy-overlay.ts): its last access and expiry
 * move as localTouchSkipped says the record's do; undefined when there is no copy. The
 * copy is a cache of the record and a touch no change this server acknowledges, so it
 * writes nothing to the local log (docs/failover.md §Protocol "Touch").
 */
export function touchCopy(c: LocalCopy, id: string, input: TouchInput): SessionState | undefined {
  const s = c.overlay.get(id);
  const now = c.local.clock.now();
  const skipped = localTouchSkipped(c.overlay, id, input, c.global.touchAfterMs, now);
  if (s === undefined || skipped !== undefined) return skipped;
  return c.overlay.times(s, Math.max(now, s.lastAccessAtMs), input.expiresAtMs ?? s.expiresAtMs);
}

/** The global record, served from the local copy when that mirrors the record's version. */
export async function readRecord(c: LocalCopy, id: string): Promise<SessionState | undefined> {
  const rec = await c.store.load(id);
  if (rec === undefined) return undefined;
  const k = c.known.get(id);
  if (k !== undefined && k.version === rec.version) {
    const s = c.overlay.get(id);
    if (s !== undefined) return c.view(s);
  }
  return makeState(rec.id, rec.version, 0, rec.createdAtMs, rec.lastAccessAtMs, rec.expiresAtMs, rec.maxInactiveMs, rec.owner, rec.attrs);
}

/**
 * syncLocal's common case, done without a promise: the turn left the attributes out (the
 * copy is at the record's version), so only the times follow. 'held' then; undefined
 * when syncLocal has more to do.
 */
export function syncCurrent(c: LocalCopy, id: string, r: TurnResult): 'held' | undefined {
  const rec = r.record;
  if (rec === undefined || !r.attrsOmitted) return undefined;
  c.absent.delete(id);
  const k = c.known.get(id);
  if (k !== undefined) k.seenAt = performance.now();
  if (c.wb() === undefined) followTimes(c, rec);
  return 'held';
}

/** Brings the local copy to the global record the turn returned; false when there is no record (any more). */
export async function syncLocal(c: LocalCopy, id: string, r: TurnResult): Promise<boolean> {
  if (syncCurrent(c, id, r) !== undefined) return true;
  const rec = r.record;
  c.absent.delete(id);
  const k = c.known.get(id);
  if (rec === undefined) {
    c.known.delete(id);
    // Lost by the store (a failover): put back, with the turn held (lost-changes.ts).
    if (k !== undefined && c.wb() === undefined && (await restoreLost(c, id, k, k.version))) return true;
    // A destroy acknowledged here whose global tombstone a failover lost: put back (lost-changes.ts).
    if (k === undefined && c.wb() === undefined && c.local.isDestroyed(id)) await tombstoneLost(repairScope(c), id);
    c.absent.add(id);
    // Destroyed or expired elsewhere: the local copy must not serve it, nor a late save revive it.
    c.overlay.drop(id);
    if (c.local.get(id) !== undefined) await c.local.destroy(id);
    return false;
  }
  if (k !== undefined && rec.version < k.version) return repair(c, id, rec, k);
  return mirror(c, rec);
}

/**
 * Through mode, the copy current: its last access and expiry follow the record's, which
 * other servers' touches moved (the turn reads them with the version, for free), so that
 * what this server serves, and when its copy expires here, is the record's.
 */
function followTimes(c: LocalCopy, rec: GlobalRecord): void {
  const s = c.overlay.get(rec.id);
  if (s === undefined) return;
  // The last access never goes back: another server's clock may lag this one's.
  const l = Math.max(s.lastAccessAtMs, rec.lastAccessAtMs);
  if (l !== s.lastAccessAtMs || s.expiresAtMs !== rec.expiresAtMs) c.overlay.times(s, l, rec.expiresAtMs);
}

function repairScope(c: LocalCopy): RepairScope {
  return { local: c.local, copy: (id) => c.overlay.get(id), store: c.store, ownership: c.ownership, logger: c.local.options.logger, global: c.global };
}

/**
 * Through mode: a record the store lost entirely is put back from the local copy at
 * `version` (recreateLost says when that is safe); false when the session is gone.
 */
export async function restoreLost(c: LocalCopy, id: string, k: Known, version: number): Promise<boolean> {
  const restored = await recreateLost(repairScope(c), id, k, version);
  if (restored === undefined) return false;
  c.absent.delete(id);
  c.known.set(id, { version: restored, createdAtMs: k.createdAtMs, seenAt: performance.now() });
  return true;
}

/** The record is older than what this server acknowledged: the local state is sent again (lost-changes.ts). */
async function repair(c: LocalCopy, id: string, rec: GlobalRecord, k: Known): Promise<boolean> {
  c.known.delete(id);
  const version = await resendLost(repairScope(c), id, rec, k);
  if (version === undefined) c.absent.add(id);
  else c.known.set(id, { version, createdAtMs: k.createdAtMs, seenAt: performance.now() });
  return version !== undefined;
}

/**
 * The local copy brought to the record; false when the record turned out to be a logout the
 * store lost (deleted again). Through mode keeps it in memory (copy-overlay.ts): the record
 * holds it durably already. Back mode saves it locally: its holder's copy is the truth
 * the write-back carries to the record.
 */
async function mirror(c: LocalCopy, rec: GlobalRecord): Promise<boolean> {
  c.known.delete(rec.id);
  if (c.wb() === undefined) {
    // Through mode deletes the local copy only once the store confirmed the delete: the
    // local tombstone is an acknowledged logout the store lost, so it is deleted again.
    if (c.local.isDestroyed(rec.id)) {
      c.overlay.drop(rec.id);
      await destroyLost(repairScope(c), rec);
      c.absent.add(rec.id);
      return false;
    }
    c.overlay.mirror(rec);
    c.known.set(rec.id, { version: rec.version, createdAtMs: rec.createdAtMs, seenAt: performance.now() });
    return true;
  }
  try {
    await c.local.save(rec.id, { attributes: attributesFromBlob(rec.attrs), expiresAtMs: rec.expiresAtMs, maxInactiveMs: rec.maxInactiveMs });
  } catch (e) {
    // Back mode: a destroy pending write-back; the version is kept so the write-back reaches the record.
    if (!isSessiondError(e, 'SESSIOND_SESSION_DESTROYED')) throw e;
  }
  c.known.set(rec.id, { version: rec.version, createdAtMs: rec.createdAtMs, seenAt: performance.now() });
  return true;
}
