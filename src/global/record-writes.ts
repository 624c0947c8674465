import { performance } from 'node:perf_hooks';
import type { SessionState } from '../session/session-state.js';
import type { GlobalWrite, WriteOutcome } from './global-store.js';
import { toWrite, type Known } from './known-record.js';
import { restoreLost, type LocalCopy } from './local-copy.js';

/**
 * The composed engine's writes to a session's global record (global-session-engine.ts),
 * each with the session's turn held and the fence of this server's lease: a new record
 * (both modes), and through mode's change, touch and destroy, each of which gives the turn
 * back with its statement (docs/failover.md §Protocol). A refusal is thrown as the
 * request's error; a record the store lost meanwhile is put back (lost-changes.ts).
 */

/** The engine's state these writes change (shared with the engine, never copied). */
export interface RecordWrites extends LocalCopy {
  /** Turns given back with the request's write (a further change takes the turn again first). */
  readonly given: Set<string>;
}

/** Writes the local state to the global record with the fence (or creates the record). */
export async function commit(c: RecordWrites, id: string, k: Known | undefined, s: SessionState): Promise<void> {
  const lease = c.ownership.lease;
  const wb = c.wb();
  const w: GlobalWrite = toWrite(s, k);
  c.known.delete(id);
  if (k === undefined) {
    // A new session: created at once in both modes, so that every server can find it (back mode holds its turn).
    if (!(await c.store.create(lease, id, w, wb !== undefined))) throw c.ownership.refused('conflict');
    c.absent.delete(id);
    if (wb !== undefined) {
      wb.kept.add(id);
      c.known.set(id, { version: 1, createdAtMs: w.createdAtMs });
      return;
    }
  } else {
    const outcome = await c.store.write(lease, id, k.version, w, true);
    // Lost by the store since this request's turn (a failover): put back with this change, its turn held.
    if (outcome === 'absent' && wb === undefined && (await restoreLost(c, id, k, k.version + 1))) return;
    if (outcome !== 'ok') throw c.ownership.refused(outcome);
  }
  c.given.add(id);
  c.known.set(id, { version: (k?.version ?? 0) + 1, createdAtMs: w.createdAtMs, seenAt: performance.now() });
}

/**
 * Through mode: the global touch of a session at known version `k` (no new version; the turn
 * is given back). Not an async function: every read-only request ends with it.
 */
export function touchRecord(c: RecordWrites, id: string, k: Known, expiresAtMs: number | undefined): Promise<void> {
  return c.store.touch(c.ownership.lease, id, c.local.clock.now(), expiresAtMs, true, c.global.touchAfterMs).then((outcome) => {
    if (outcome !== 'ok') return touchRefused(c, id, k, outcome);
    c.given.add(id);
  });
}

/** A touch that changed nothing: the record the store lost is put back (the turn held), else the refusal. */
async function touchRefused(c: RecordWrites, id: string, k: Known, outcome: Exclude<WriteOutcome, 'ok'>): Promise<void> {
  if (outcome === 'absent' && (await restoreLost(c, id, k, k.version))) return;
  throw c.ownership.refused(outcome);
}

/** The destroy, with the session's turn held and its version known (or its record found absent). */
export async function destroyRecord(c: RecordWrites, id: string): Promise<boolean> {
  const k = c.known.get(id);
  const wb = c.wb();
  if (wb !== undefined && k !== undefined) {
    const lease = c.ownership.lease;
    await c.local.destroy(id);
    await wb.changed(id, lease); // written back as a destroy (the local copy is gone)
    return true;
  }
  if (k === undefined) {
    // No record. With replicaAckMs, acknowledged only once a replica confirms it: the
    // delete that made it absent may be one whose confirmation failed (a 503 logout
    // retried), which a failover would undo (RedisGlobalStore.destroy).
    if (wb === undefined && c.global.replicaAckMs > 0) {
      const outcome = await c.store.destroy(c.ownership.lease, id, 0);
      if (outcome !== 'absent' && outcome !== 'ok') throw c.ownership.refused(outcome);
    }
    c.overlay.drop(id);
    return c.local.destroy(id);
  }
  // Through mode: the record first, the local copy once the record is gone. A destroy
  // the global store refused or never confirmed (503) leaves the session here as it is
  // in the store, so this server goes on serving it (a retried logout finds it and
  // deletes it); and a local tombstone always means an acknowledged destroy (mirror).
  c.known.delete(id);
  const outcome = await c.store.destroy(c.ownership.lease, id, k.version);
  if (outcome !== 'ok' && outcome !== 'absent') throw c.ownership.refused(outcome);
  c.given.add(id); // no record, no turn
  c.absent.add(id);
  c.overlay.drop(id);
  await c.local.destroy(id);
  return true;
}
