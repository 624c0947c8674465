import type { ServerLease, WriteOutcome } from '../global-store.js';
import { preparedStatement, recordLive, runPrepared, type PgContext } from './pg-context.js';
import { outcome } from './session-rows.js';

/**
 * The touch (docs/failover.md §Protocol, "Touch"): moves the last access (never back) and
 * the expiry without a new version: a touch changes no attribute, so a copy of the record
 * at this version stays current on every server. Fenced by the owner and its epoch with a
 * live lease, not by the version: once another server took the turn (to write, or to
 * touch) it is the owner, and this touch changes nothing.
 *
 * Like the turns, the touches a server's concurrent requests send while others are out go
 * together in one statement, one row per touch with its own server, epoch and times,
 * fenced exactly as alone; rows locked in `sid` order (batched turns lock theirs so too).
 */

export interface TouchAsk {
  readonly lease: ServerLease;
  readonly id: string;
  readonly lastAccessAtMs: number;
  /** Undefined keeps the expiry. */
  readonly expiresAtMs: number | undefined;
  readonly releaseTurn: boolean;
  readonly touchAfterMs: number;
}

const NEVER = '9223372036854775807';

/**
 * The throttle: the last access and the expiry move only once one of them moved by at
 * least `touchAfterMs`, or by half the idle timeout when that is shorter, or the expiry
 * moved earlier. Otherwise nothing indexed changes and the update stays HOT.
 */
const AFTER = `(CASE WHEN s.inactive_ms > 0 THEN LEAST(v.after, s.inactive_ms / 2) ELSE v.after END)`;
const MOVED = `(v.access >= s.access_ms + ${AFTER} OR (v.expires IS NOT NULL AND (v.expires < s.expires_ms OR v.expires >= s.expires_ms + ${AFTER})))`;
const ACCESS = `GREATEST(s.access_ms, v.access)`;
const EXPIRES = `COALESCE(v.expires, s.expires_ms)`;

/** As the turns (turns.ts): the rows found by `sid = ANY` and locked in sid order; `v`, a row's ask, read from the arrays at its position. */
const touchSql = preparedStatement((ctx: PgContext): string => {
  const fence = `s.owner = v.me AND s.owner_epoch = v.epoch AND ${recordLive('s')}`;
  const ask = (i: string): string =>
    `LATERAL (SELECT ($3::text[])[${i}] AS me, ($4::bigint[])[${i}] AS epoch, ($5::bigint[])[${i}] AS access, ($6::bigint[])[${i}] AS expires, ($7::bigint[])[${i}] AS after, ($8::boolean[])[${i}] AS release) v`;
  return `WITH cur AS (
       SELECT s.slot, p.i FROM ${ctx.t.sessions} s, LATERAL (SELECT array_position($2::text[], s.sid) AS i) p, ${ask('p.i')}
       WHERE s.app = $1 AND s.sid = ANY((SELECT $2::text[])::text[]) AND ${fence} ORDER BY s.sid FOR UPDATE OF s
     )
     UPDATE ${ctx.t.sessions} s SET access_ms = CASE WHEN ${MOVED} THEN ${ACCESS} ELSE s.access_ms END,
       expires_ms = CASE WHEN ${MOVED} THEN ${EXPIRES} ELSE s.expires_ms END,
       until_ms = CASE WHEN ${MOVED} THEN NULLIF(LEAST(CASE WHEN ${EXPIRES} > 0 THEN ${EXPIRES} ELSE ${NEVER} END,
                               CASE WHEN s.inactive_ms > 0 THEN ${ACCESS} + s.inactive_ms ELSE ${NEVER} END), ${NEVER}) ELSE s.until_ms END,
       turn_until = CASE WHEN v.release THEN NULL ELSE s.turn_until END
     FROM cur, ${ask('cur.i')}
     WHERE s.slot = cur.slot AND ${fence}
       AND EXISTS (SELECT 1 FROM ${ctx.t.leases} l WHERE l.app = $1 AND l.server_id = v.me AND l.epoch = v.epoch AND l.expires_at > now())
     RETURNING cur.i`;
});

/** One statement for every touch given (distinct sessions); one outcome per touch, in their order. The touches it did not apply are classified one by one (rare). */
export async function touchBatch(ctx: PgContext, asks: readonly TouchAsk[]): Promise<WriteOutcome[]> {
  const col = <T>(f: (a: TouchAsk) => T): T[] => asks.map(f);
  const r = await runPrepared<{ i: string }>(ctx, touchSql(ctx), [
    ctx.app,
    col((a) => a.id),
    col((a) => a.lease.serverId),
    col((a) => a.lease.epoch),
    col((a) => a.lastAccessAtMs),
    col((a) => a.expiresAtMs ?? null),
    col((a) => a.touchAfterMs),
    col((a) => a.releaseTurn),
  ]);
  const done = new Set(r.rows.map((x) => Number(x.i) - 1));
  const out: WriteOutcome[] = [];
  for (const [k, a] of asks.entries()) out.push(done.has(k) ? 'ok' : await outcome(ctx, a.lease, a.id, -1));
  return out;
}
