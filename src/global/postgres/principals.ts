import type { DestroyAllResult, GlobalRecord, ServerLease } from '../global-store.js';
import { leaseLive, recordLive, run, runPrepared, type PgContext } from './pg-context.js';
import { BLANK_SET, checkLease, RECORD_COLUMNS, TOMBSTONE_SET, toRecord, type RecordRow } from './session-rows.js';

/**
 * The global principal index on PostgreSQL (docs/failover.md §Sessions of a principal): the
 * `principal` column (schema migration 4), set in the same statement as the attributes it is
 * computed from, so the partial index `sessions_app_principal` is exact by construction: a
 * row is found under a principal when and only when its last create or write named it.
 */

export async function sessionsOf(ctx: PgContext, principal: string, limit: number): Promise<GlobalRecord[]> {
  const r = await runPrepared<RecordRow>(
    ctx,
    `SELECT ${RECORD_COLUMNS} FROM ${ctx.t.sessions} s WHERE s.app = $1 AND s.principal = $2 AND ${recordLive('s')} ORDER BY s.sid COLLATE "C" LIMIT $3`,
    [ctx.app, principal, limit],
  );
  return r.rows.map(toRecord).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** IDs in code point order (the database's collation may order them otherwise). */
const byId = (ids: string[]): string[] => ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** Nobody holds the row's turn (none, or it ended); a turn held for good (back mode) is 'infinity'. */
const TURN_FREE = `(s.turn_until IS NULL OR s.turn_until <= now())`;

/**
 * One statement: the live rows of the principal whose turn is free are locked (rows another
 * transaction locks, such as a turn being taken, are skipped: reported busy) and become
 * tombstones, or are freed when tombstoneMs is 0. $1 app, $2 principal, $3/$4 the lease,
 * $5 the IDs kept, $6 tombstoneMs.
 */
function destroyStatement(ctx: PgContext): string {
  const pick = `SELECT s.slot, s.sid FROM ${ctx.t.sessions} s
    WHERE s.app = $1 AND s.principal = $2 AND ${recordLive('s')} AND ${TURN_FREE} AND NOT (s.sid = ANY($5::text[])) AND ${leaseLive(ctx, 3)}
    ORDER BY s.slot FOR UPDATE OF s SKIP LOCKED`;
  if (ctx.tombstoneMs > 0) return `WITH c AS (${pick}) UPDATE ${ctx.t.sessions} s SET ${TOMBSTONE_SET} FROM c WHERE s.slot = c.slot RETURNING c.sid`;
  if (ctx.allocation === 'insert') return `WITH c AS (${pick}) DELETE FROM ${ctx.t.sessions} s USING c WHERE s.slot = c.slot AND $6::bigint = 0 RETURNING c.sid`;
  return `WITH c AS (${pick}), d AS (UPDATE ${ctx.t.sessions} s SET ${BLANK_SET} FROM c WHERE s.slot = c.slot AND $6::bigint = 0 RETURNING c.slot, c.sid),
    b AS (INSERT INTO ${ctx.t.blanks} (slot) SELECT slot FROM d) SELECT sid FROM d`;
}

export async function destroyAllOf(ctx: PgContext, lease: ServerLease, principal: string, except: readonly string[]): Promise<DestroyAllResult> {
  const r = await run<{ sid: string }>(ctx, destroyStatement(ctx), [ctx.app, principal, lease.serverId, lease.epoch, except, ctx.tombstoneMs]);
  if (r.rows.length === 0) await checkLease(ctx, lease);
  const left = await run<{ sid: string }>(
    ctx,
    `SELECT s.sid FROM ${ctx.t.sessions} s WHERE s.app = $1 AND s.principal = $2 AND ${recordLive('s')} AND NOT (s.sid = ANY($3::text[])) ORDER BY s.sid COLLATE "C"`,
    [ctx.app, principal, except],
  );
  return { destroyed: byId(r.rows.map((x) => x.sid)), busy: byId(left.rows.map((x) => x.sid)) };
}
