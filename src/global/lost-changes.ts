import { performance } from 'node:perf_hooks';
import type { SessionEngine } from '../engine/session-engine.js';
import type { SessionState } from '../session/session-state.js';
import { isSessiondError } from '../errors.js';
import type { Logger } from '../options.js';
import type { GlobalOptions } from './global-options.js';
import type { GlobalRecord, GlobalStore, GlobalWrite } from './global-store.js';
import type { Ownership } from './ownership.js';
import { recordUntilMs } from './record-until.js';
import { toWrite, type Known } from './known-record.js';

/**
 * Through mode's repairs of changes the global store acknowledged and then lost (a Redis
 * failover to a replica the last writes had not reached; docs/failover.md §Repair). Both
 * run when this server has just taken the session's turn, so their fenced writes land on
 * the record found; a refusal is thrown as the request's error.
 */

export interface RepairScope {
  readonly local: SessionEngine;
  /** The copy this server serves (through mode: copy-overlay.ts over the local engine's). */
  copy(id: string): SessionState | undefined;
  readonly store: GlobalStore;
  readonly ownership: Ownership;
  readonly logger: Logger;
  readonly global: Pick<GlobalOptions, 'tombstoneMs' | 'clockDriftMarginMs'>;
}

/**
 * The record is older than the version this server acknowledged: the local log still has
 * the acknowledged state, which is sent again at the version acknowledged (so that another
 * server's older copy sees the record as newer, never as lost), or the delete, when the
 * session is gone here. Resolves the record's version now, or undefined once it is deleted.
 */
export async function resendLost(c: RepairScope, id: string, rec: GlobalRecord, k: Known): Promise<number | undefined> {
  const lease = c.ownership.lease;
  const s = c.copy(id);
  c.logger.warn('global_version_lost', { foundVersion: rec.version, knownVersion: k.version });
  const outcome = s === undefined ? await c.store.destroy(lease, id, rec.version) : await c.store.restore(lease, id, rec.version, k.version, toWrite(s, k));
  if (outcome !== 'ok') throw c.ownership.refused(outcome);
  return s === undefined ? undefined : k.version;
}

/**
 * The record is gone without a tombstone, where this server saw it at version `k.version`
 * less than tombstoneMs ago (less the clock margin): a destroy since then would have left
 * a tombstone that still lasts, so the store lost the record (a Redis failover to a replica
 * it never reached), and the local copy, the state this server acknowledged, is put back
 * at version `version` with this server's turn held (GlobalStore.restore). Not when the
 * copy ends within the clock margin (the record may simply have expired by the store's
 * clock), nor once the ID's tombstone is found (destroyed, also by an admin clear).
 * Resolves the version restored, or undefined when the session is gone.
 */
export async function recreateLost(c: RepairScope, id: string, k: Known, version: number): Promise<number | undefined> {
  const s = c.copy(id);
  const margin = c.global.clockDriftMarginMs;
  if (s === undefined || k.seenAt === undefined || performance.now() - k.seenAt >= c.global.tombstoneMs - margin) return undefined;
  const w = toWrite(s, k);
  const until = recordUntilMs(w);
  if (until !== null && until <= c.local.clock.now() + margin) return undefined;
  let outcome;
  try {
    outcome = await c.store.restore(c.ownership.lease, id, 0, version, w);
  } catch (e) {
    if (isSessiondError(e, 'SESSIOND_SESSION_DESTROYED')) return undefined;
    throw e;
  }
  if (outcome !== 'ok') throw c.ownership.refused(outcome);
  c.logger.warn('global_record_lost', { knownVersion: k.version });
  return version;
}

/**
 * The local tombstone says this server acknowledged a destroy of the session (see
 * destroyLost), and its turn found neither the record nor the global tombstone: a failover
 * lost both. The global tombstone is put back (a blank record created with the turn held,
 * then destroyed), so that another server whose copy saw the record within tombstoneMs does
 * not take it for lost and bring the logged-out session back (recreateLost). While the
 * tombstone lasts the create is refused and nothing is written; a live record found instead
 * is another server's, deleted by this server's next turn (destroyLost).
 */
export async function tombstoneLost(c: RepairScope, id: string): Promise<void> {
  if (c.global.tombstoneMs === 0) return; // none kept, none repaired (recreateLost never restores then)
  const now = c.local.clock.now();
  // Expires by itself within tombstoneMs should this server die before the destroy.
  const blank: GlobalWrite = { attrs: '', createdAtMs: now, lastAccessAtMs: now, expiresAtMs: now + c.global.tombstoneMs, maxInactiveMs: 0 };
  try {
    if ((await c.store.restore(c.ownership.lease, id, 0, 1, blank)) !== 'ok') return;
  } catch (e) {
    if (isSessiondError(e, 'SESSIOND_SESSION_DESTROYED')) return;
    throw e;
  }
  c.logger.warn('global_tombstone_lost', {});
  const outcome = await c.store.destroy(c.ownership.lease, id, 1);
  if (outcome !== 'ok') throw c.ownership.refused(outcome);
}

/**
 * The local tombstone says this server acknowledged a destroy of the session (through mode
 * deletes the local copy only once the global store confirmed the delete), yet the record
 * exists: the backend lost the delete, or a late write re-created the record. It is deleted
 * again: an acknowledged logout is never undone.
 */
export async function destroyLost(c: RepairScope, rec: GlobalRecord): Promise<void> {
  c.logger.warn('global_destroy_lost', { foundVersion: rec.version });
  const outcome = await c.store.destroy(c.ownership.lease, rec.id, rec.version);
  if (outcome !== 'ok' && outcome !== 'absent') throw c.ownership.refused(outcome);
}
