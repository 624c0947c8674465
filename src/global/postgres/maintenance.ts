import type { GlobalRecord, ServerLease } from '../global-store.js';
import { inTransaction, leaseLive, NOW_MS, ownerDead, recordLive, run, type PgContext } from './pg-context.js';
import { BLANK_SET, RECORD_COLUMNS, toRecord, tombstoneSet, type RecordRow } from './session-rows.js';

/**
 * Background work on the session table, always in bounded batches that skip rows locked
 * by requests (FOR UPDATE SKIP LOCKED), so it never waits for a request nor makes one wait
 * more than one row's update, and never deadlocks with one (Spring Session's cleanup job
 * deadlocks because it locks many rows in index order while requests lock them in another).
 */

/** Inherits up to `limit` sessions whose owner's lease lapsed. */
export async function inheritBatch(ctx: PgContext, lease: ServerLease, limit: number): Promise<string[]> {
  const r = await run<{ sid: string }>(
    ctx,
    `WITH dead AS (
       SELECT s.slot FROM ${ctx.t.sessions} s
       WHERE s.app = $1 AND s.sid IS NOT NULL AND s.destroyed_ms IS NULL AND NOT (s.owner = $2 AND s.owner_epoch = $3) AND ${ownerDead(ctx, 's')} AND ${leaseLive(ctx, 2)}
       LIMIT $4 FOR UPDATE OF s SKIP LOCKED
     )
     UPDATE ${ctx.t.sessions} s SET owner = $2, owner_epoch = $3, turn_until = NULL, handover_at = NULL FROM dead WHERE s.slot = dead.slot RETURNING s.sid`,
    [ctx.app, lease.serverId, lease.epoch, limit],
  );
  return r.rows.map((x) => x.sid);
}

/**
 * Removes up to `limit` expired records when this server wins the election: a
 * transaction-scoped advisory lock (it only elects; it fences nothing). -1 when another
 * server is cleaning now.
 */
export async function cleanupExpired(ctx: PgContext, limit: number): Promise<number> {
  return inTransaction(ctx, async (client) => {
    const won = await client.query<{ won: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtext($1)) AS won`, [`sessiond-cleanup:${ctx.t.schema}:${ctx.app}`]);
    if (won.rows[0]?.won !== true) return -1;
    const pick = `SELECT s.slot FROM ${ctx.t.sessions} s WHERE s.app = $1 AND s.sid IS NOT NULL AND s.until_ms <= ${NOW_MS} LIMIT $2 FOR UPDATE SKIP LOCKED`;
    const r =
      ctx.allocation === 'insert'
        ? await client.query(`DELETE FROM ${ctx.t.sessions} WHERE slot IN (${pick})`, [ctx.app, limit])
        : await client.query(
            `WITH d AS (UPDATE ${ctx.t.sessions} SET ${BLANK_SET} WHERE slot IN (${pick}) RETURNING slot) INSERT INTO ${ctx.t.blanks} (slot) SELECT slot FROM d`,
            [ctx.app, limit],
          );
    return r.rowCount ?? 0;
  });
}

export async function list(ctx: PgContext, limit: number): Promise<GlobalRecord[]> {
  const r = await run<RecordRow>(ctx, `SELECT ${RECORD_COLUMNS} FROM ${ctx.t.sessions} s WHERE s.app = $1 AND s.sid IS NOT NULL AND ${recordLive('s')} ORDER BY s.sid LIMIT $2`, [ctx.app, limit]);
  return r.rows.map(toRecord);
}

export async function count(ctx: PgContext): Promise<number> {
  const r = await run<{ n: string }>(ctx, `SELECT count(*) AS n FROM ${ctx.t.sessions} s WHERE s.app = $1 AND s.sid IS NOT NULL AND ${recordLive('s')}`, [ctx.app]);
  return Number(r.rows[0]!.n);
}

/**
 * Removes every row of the app; each live record leaves a tombstone of its own (while
 * tombstoneMs, $2, is over 0) as a destroy does, and the rows of tombstones and expired
 * records are freed. Returns how many records there were (tombstones are not counted).
 */
export async function clear(ctx: PgContext): Promise<number> {
  const mine = `s.app = $1 AND s.sid IS NOT NULL`;
  // Live records become tombstones; the rest of the app's rows go (a modifying CTE sees the rows as they were).
  const kept = ctx.tombstoneMs > 0 ? `UPDATE ${ctx.t.sessions} s SET ${tombstoneSet(2)} WHERE ${mine} AND ${recordLive('s')} RETURNING s.slot` : `SELECT NULL::bigint AS slot WHERE false`;
  const live = `SELECT count(*) FROM ${ctx.t.sessions} s WHERE ${mine} AND ${recordLive('s')}`;
  const rest = `${mine} AND s.slot NOT IN (SELECT slot FROM k)`;
  const gone =
    ctx.allocation === 'insert'
      ? `d AS (DELETE FROM ${ctx.t.sessions} s WHERE ${rest})`
      : `o AS (SELECT slot FROM ${ctx.t.sessions} s WHERE ${rest} FOR UPDATE), d AS (UPDATE ${ctx.t.sessions} s SET ${BLANK_SET} FROM o WHERE s.slot = o.slot RETURNING s.slot),
         b AS (INSERT INTO ${ctx.t.blanks} (slot) SELECT slot FROM d)`;
  const r = await run<{ n: string }>(ctx, `WITH n AS (${live}), k AS (${kept}), ${gone} SELECT (SELECT count FROM n) AS n`, ctx.tombstoneMs > 0 ? [ctx.app, ctx.tombstoneMs] : [ctx.app]);
  return Number(r.rows[0]?.n ?? 0);
}
