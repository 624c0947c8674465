import type { ServerLease, TurnResult } from '../global-store.js';
import { HELD, ownerDead, preparedStatement, recordLive, runPrepared, type PgContext } from './pg-context.js';
import { fenced, toRecord, type RecordRow } from './session-rows.js';

/**
 * The per-session turn across servers (SPEC E8 extended by G3): a lease on the session's
 * row (`turn_until`, the database's clock), taken and given back with single statements;
 * never a transaction held open across a request. Taking the turn makes the taker the
 * owner, so the fenced writes of everyone else change nothing from then on. A turn held
 * by a server whose lease lapsed is void: that is inheritance (creation time kept).
 *
 * The turns a server's concurrent requests ask for while other turn statements are out go
 * together in the next one (statement-batch.ts; docs/failover.md §Protocol, "Batched
 * statements"). Each
 * ask is one row of that statement with its own server, epoch, turn length and known
 * version, fenced exactly as alone; the rows are locked in `sid` order, so two servers'
 * batches (or a batch and a write-back batch) cannot deadlock.
 */

export interface TurnAsk {
  readonly lease: ServerLease;
  readonly id: string;
  readonly turnMs: number;
  readonly knownVersion: number;
  readonly hold: boolean;
}

interface TurnRow extends RecordRow {
  i: string;
  /** The row was locked live (a record exists) but not taken: another live server holds its turn. */
  present: boolean;
  /** The asker's lease (server and epoch) is live by the database's clock. */
  leased: boolean;
  /** Null when the turn was not taken. */
  dead: boolean | null;
  was_owner: string;
  was_epoch: string;
}

/**
 * `cur` locks the live rows asked for, found by the unique (app, sid) index (`sid = ANY`),
 * in sid order, and sees their latest version (READ COMMITTED re-reads after a lock wait);
 * `a` is a row's ask, read from the arrays at its position `i`. No join with the asks: the
 * plan is the same for one ask or 256 and for any table size, so PostgreSQL keeps its
 * generic plan instead of planning the statement again at every call (docs/failover.md
 * §Protocol, "Batched statements"). `v`, one row per ask, only answers each ask.
 */
const turnSql = preparedStatement((ctx: PgContext): string => {
  const leased = (a: string): string => `EXISTS (SELECT 1 FROM ${ctx.t.leases} l WHERE l.app = $1 AND l.server_id = ${a}.me AND l.epoch = ${a}.epoch AND l.expires_at > now())`;
  const mine = `(cur.was_owner = a.me AND cur.was_epoch = a.epoch)`;
  return `WITH cur AS (
       SELECT s.slot, array_position($2::text[], s.sid) AS i, s.owner AS was_owner, s.owner_epoch AS was_epoch, s.turn_until AS was_turn, ${ownerDead(ctx, 's')} AS dead
       FROM ${ctx.t.sessions} s
       WHERE s.app = $1 AND s.sid = ANY((SELECT $2::text[])::text[]) AND ${recordLive('s')} ORDER BY s.sid FOR UPDATE OF s
     ), took AS (
       UPDATE ${ctx.t.sessions} s SET owner = a.me, owner_epoch = a.epoch,
         turn_until = CASE WHEN a.hold THEN ${HELD} ELSE now() + a.turn_ms * interval '1 millisecond' END,
         handover_at = CASE WHEN ${mine} THEN s.handover_at END
       FROM cur, LATERAL (SELECT ($3::text[])[cur.i] AS me, ($4::bigint[])[cur.i] AS epoch, ($5::bigint[])[cur.i] AS turn_ms, ($6::bigint[])[cur.i] AS known, ($7::boolean[])[cur.i] AS hold) a
       WHERE s.slot = cur.slot AND ${leased('a')} AND (${mine} OR cur.was_turn IS NULL OR cur.was_turn <= now() OR cur.dead)
       RETURNING cur.i, s.sid, CASE WHEN s.version = a.known THEN NULL ELSE s.attrs END AS attrs, s.created_ms, s.access_ms, s.expires_ms, s.inactive_ms,
         s.owner, s.owner_epoch, s.version, s.principal, cur.dead, cur.was_owner, cur.was_epoch
     )
     SELECT v.i, took.sid, took.attrs, took.created_ms, took.access_ms, took.expires_ms, took.inactive_ms, took.owner, took.owner_epoch, took.version, took.principal,
       took.dead, took.was_owner, took.was_epoch, ${leased('v')} AS leased, EXISTS (SELECT 1 FROM cur WHERE cur.i = v.i) AS present
     FROM unnest((SELECT $3::text[]), (SELECT $4::bigint[])) WITH ORDINALITY AS v(me, epoch, i) LEFT JOIN took ON took.i = v.i`;
});

/** One statement for every ask given (in any order, distinct sessions); one answer per ask, in the asks' order. */
export async function takeTurns(ctx: PgContext, asks: readonly TurnAsk[]): Promise<Array<TurnResult | undefined | Error>> {
  const col = <T>(f: (a: TurnAsk) => T): T[] => asks.map(f);
  const r = await runPrepared<TurnRow>(ctx, turnSql(ctx), [
    ctx.app,
    col((a) => a.id),
    col((a) => a.lease.serverId),
    col((a) => a.lease.epoch),
    col((a) => a.turnMs),
    col((a) => a.knownVersion),
    col((a) => a.hold),
  ]);
  // Sparse until the rows are read: an ask the statement gave no row gets its Error only then
  // (an Error per ask made up front cost more than the rest of the answer).
  const out = new Array<TurnResult | undefined | Error>(asks.length);
  const answered = new Array<boolean>(asks.length).fill(false);
  for (const row of r.rows) {
    const k = Number(row.i) - 1;
    out[k] = answer(asks[k]!, row);
    answered[k] = true;
  }
  for (let k = 0; k < asks.length; k++) if (!answered[k]) out[k] = new Error('the turn statement returned no row for this ask');
  return out;
}

function answer(ask: TurnAsk, row: TurnRow): TurnResult | undefined | Error {
  if (row.dead !== null) {
    const wasMine = row.was_owner === ask.lease.serverId && Number(row.was_epoch) === ask.lease.epoch;
    return { record: toRecord(row), attrsOmitted: row.attrs === null, inherited: row.dead && !wasMine };
  }
  if (!row.leased) return fenced(ask.lease, 'the server lease lapsed');
  return row.present ? undefined : { record: undefined, attrsOmitted: false, inherited: false };
}

/**
 * Gives the turn back (only the holder's release counts). When a server waits for it
 * (a hand-over was asked), the same statement notifies the waiters, so they do not poll.
 */
export async function releaseTurn(ctx: PgContext, lease: ServerLease, id: string): Promise<void> {
  await runPrepared(ctx, releaseSql(ctx), [ctx.app, id, lease.serverId, lease.epoch, ctx.channel]);
}

const releaseSql = preparedStatement(
  (ctx: PgContext): string => `WITH old AS (
       SELECT slot, handover_at FROM ${ctx.t.sessions} WHERE app = $1 AND sid = $2 AND owner = $3 AND owner_epoch = $4 AND turn_until IS NOT NULL FOR UPDATE
     )
     UPDATE ${ctx.t.sessions} s SET turn_until = NULL, handover_at = NULL FROM old WHERE s.slot = old.slot
     RETURNING CASE WHEN old.handover_at IS NOT NULL THEN pg_notify($5, json_build_array('r', s.sid)::text) END`,
);
