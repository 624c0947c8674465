import type { ServerLease, TurnResult } from '../global-store.js';
import { HELD, leaseLive, ownerDead, recordLive, run, runPrepared, type PgContext } from './pg-context.js';
import { fenced, toRecord, type RecordRow } from './session-rows.js';

/**
 * The per-session turn across servers (SPEC E8 extended by G3): a lease on the session's
 * row (`turn_until`, the database's clock), taken and given back with single statements;
 * never a transaction held open across a request. Taking the turn makes the taker the
 * owner, so the fenced writes of everyone else change nothing from then on. A turn held
 * by a server whose lease lapsed is void: that is inheritance (creation time kept).
 */

const ms = (p: number): string => `($${p}::bigint * interval '1 millisecond')`;

export async function takeTurn(ctx: PgContext, lease: ServerLease, id: string, turnMs: number, knownVersion: number, hold: boolean): Promise<TurnResult | undefined> {
  const values = [ctx.app, lease.serverId, lease.epoch, id, turnMs, knownVersion, hold];
  // `cur` locks the row and sees its latest version (READ COMMITTED re-reads after a lock wait).
  const r = await runPrepared<RecordRow & { dead: boolean; was_owner: string; was_epoch: string }>(
    ctx,
    `WITH cur AS (
       SELECT s.slot, s.owner AS was_owner, s.owner_epoch AS was_epoch, s.turn_until AS was_turn, ${ownerDead(ctx, 's')} AS dead
       FROM ${ctx.t.sessions} s WHERE s.app = $1 AND s.sid = $4 AND ${recordLive('s')} FOR UPDATE OF s
     )
     UPDATE ${ctx.t.sessions} s SET owner = $2, owner_epoch = $3, turn_until = CASE WHEN $7::boolean THEN ${HELD} ELSE now() + ${ms(5)} END,
       handover_at = CASE WHEN cur.was_owner = $2 AND cur.was_epoch = $3 THEN s.handover_at END
     FROM cur
     WHERE s.slot = cur.slot AND ${leaseLive(ctx, 2)}
       AND ((cur.was_owner = $2 AND cur.was_epoch = $3) OR cur.was_turn IS NULL OR cur.was_turn <= now() OR cur.dead)
     RETURNING s.sid, CASE WHEN s.version = $6 THEN NULL ELSE s.attrs END AS attrs, s.created_ms, s.access_ms, s.expires_ms, s.inactive_ms,
       s.owner, s.owner_epoch, s.version, s.principal, cur.dead, cur.was_owner, cur.was_epoch`,
    values,
  );
  const row = r.rows[0];
  if (row !== undefined) {
    const record = toRecord(row);
    const wasMine = row.was_owner === lease.serverId && Number(row.was_epoch) === lease.epoch;
    return { record, attrsOmitted: row.attrs === null, inherited: row.dead && !wasMine };
  }
  const check = await run<{ leased: boolean; present: boolean }>(
    ctx,
    `SELECT ${leaseLive(ctx, 2)} AS leased, EXISTS (SELECT 1 FROM ${ctx.t.sessions} s WHERE s.app = $1 AND s.sid = $4 AND ${recordLive('s')}) AS present`,
    [ctx.app, lease.serverId, lease.epoch, id],
  );
  const c = check.rows[0]!;
  if (!c.leased) throw fenced(lease, 'the server lease lapsed');
  return c.present ? undefined : { record: undefined, attrsOmitted: false, inherited: false };
}

/**
 * Gives the turn back (only the holder's release counts). When a server waits for it
 * (a hand-over was asked), the same statement notifies the waiters, so they do not poll.
 */
export async function releaseTurn(ctx: PgContext, lease: ServerLease, id: string): Promise<void> {
  await runPrepared(
    ctx,
    `WITH old AS (
       SELECT slot, handover_at FROM ${ctx.t.sessions} WHERE app = $1 AND sid = $2 AND owner = $3 AND owner_epoch = $4 AND turn_until IS NOT NULL FOR UPDATE
     )
     UPDATE ${ctx.t.sessions} s SET turn_until = NULL, handover_at = NULL FROM old WHERE s.slot = old.slot
     RETURNING CASE WHEN old.handover_at IS NOT NULL THEN pg_notify($5, json_build_array('r', s.sid)::text) END`,
    [ctx.app, id, lease.serverId, lease.epoch, ctx.channel],
  );
}
