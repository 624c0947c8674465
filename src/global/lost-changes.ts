import type { SessionEngine } from '../engine/session-engine.js';
import type { Logger } from '../options.js';
import type { GlobalRecord, GlobalStore } from './global-store.js';
import type { Ownership } from './ownership.js';
import { toWrite, type Known } from './write-back.js';

/**
 * Through mode's repairs of changes the global store acknowledged and then lost (a Redis
 * failover to a replica the last writes had not reached; docs/failover.md §Repair). Both
 * run when this server has just taken the session's turn, so their fenced writes land on
 * the record found; a refusal is thrown as the request's error.
 */

export interface RepairScope {
  readonly local: SessionEngine;
  readonly store: GlobalStore;
  readonly ownership: Ownership;
  readonly logger: Logger;
}

/**
 * The record is older than the version this server acknowledged: the local log still has
 * the acknowledged state, which is sent again (or the delete, when the session is gone
 * here). Resolves the record's version now, or undefined once it is deleted.
 */
export async function resendLost(c: RepairScope, id: string, rec: GlobalRecord, k: Known): Promise<number | undefined> {
  const lease = c.ownership.lease;
  const s = c.local.get(id);
  c.logger.warn('global_version_lost', { foundVersion: rec.version, knownVersion: k.version });
  const outcome =
    s === undefined
      ? await c.store.destroy(lease, id, rec.version)
      : await c.store.write(lease, id, rec.version, toWrite(s, k), false);
  if (outcome !== 'ok') throw c.ownership.refused(outcome);
  return s === undefined ? undefined : rec.version + 1;
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
