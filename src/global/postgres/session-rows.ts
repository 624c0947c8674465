import { SessiondError } from '../../errors.js';
import type { GlobalRecord, GlobalWrite, ServerLease, WriteOutcome } from '../global-store.js';
import { HELD, leaseLive, NOW_MS, num, preparedStatement, recordLive, run, runPrepared, sqlState, tombstoneLive, type PgContext } from './pg-context.js';

/**
 * The session information storage table: load, create, and the fenced write, touch and
 * destroy. Every change is one statement whose WHERE clause is the fence
 * (`owner = $me AND owner_epoch = $epoch AND version = $v AND <my lease is live>`), so a
 * server that lost its lease or its session changes 0 rows, and then learns why.
 */

/** Columns read back into a GlobalRecord. */
export const RECORD_COLUMNS = 's.sid, s.attrs, s.created_ms, s.access_ms, s.expires_ms, s.inactive_ms, s.owner, s.owner_epoch, s.version, s.principal';

/** What a row looks like to a blank record: no app, no ID, nothing in it. */
export const BLANK_SET = `app = NULL, sid = NULL, attrs = ''::bytea, created_ms = 0, access_ms = 0, expires_ms = 0, inactive_ms = 0,
  until_ms = NULL, owner = NULL, owner_epoch = 0, version = 0, turn_until = NULL, handover_at = NULL, destroyed_ms = NULL, principal = NULL`;

export interface RecordRow {
  sid: string;
  attrs: Buffer | null;
  created_ms: string;
  access_ms: string;
  expires_ms: string;
  inactive_ms: string;
  owner: string;
  owner_epoch: string;
  version: string;
  principal: string | null;
}

export function toRecord(r: RecordRow): GlobalRecord {
  return {
    id: r.sid,
    attrs: r.attrs === null ? '' : r.attrs.toString('utf8'),
    createdAtMs: num(r.created_ms),
    lastAccessAtMs: num(r.access_ms),
    expiresAtMs: num(r.expires_ms),
    maxInactiveMs: num(r.inactive_ms),
    owner: r.owner,
    ownerEpoch: num(r.owner_epoch),
    version: num(r.version),
    principal: r.principal ?? '',
  };
}

/** When the record stops existing (ms), or null for never; the expiry index and every read use it. */
export function untilMs(w: Pick<GlobalWrite, 'lastAccessAtMs' | 'expiresAtMs' | 'maxInactiveMs'>): number | null {
  const sliding = w.maxInactiveMs > 0 ? w.lastAccessAtMs + w.maxInactiveMs : Infinity;
  const absolute = w.expiresAtMs > 0 ? w.expiresAtMs : Infinity;
  const until = Math.min(sliding, absolute);
  return Number.isFinite(until) ? until : null;
}

/** The principal column: NULL for none, so the principal index holds only sessions that have one. */
export const principalValue = (w: Pick<GlobalWrite, 'principal'>): string | null => (w.principal === undefined || w.principal === '' ? null : w.principal);

/** The 7 values a write sets, in column order: attrs, created_ms, access_ms, expires_ms, inactive_ms, until_ms, principal. */
function writeValues(w: GlobalWrite): unknown[] {
  return [Buffer.from(w.attrs, 'utf8'), w.createdAtMs, w.lastAccessAtMs, w.expiresAtMs, w.maxInactiveMs, untilMs(w), principalValue(w)];
}

const loadSql = preparedStatement((ctx: PgContext): string => `SELECT ${RECORD_COLUMNS} FROM ${ctx.t.sessions} s WHERE s.app = $1 AND s.sid = $2 AND ${recordLive('s')}`);

export async function load(ctx: PgContext, id: string): Promise<GlobalRecord | undefined> {
  const r = await runPrepared<RecordRow>(ctx, loadSql(ctx), [ctx.app, id]);
  return r.rows.length === 0 ? undefined : toRecord(r.rows[0]!);
}

export async function checkLease(ctx: PgContext, lease: ServerLease): Promise<void> {
  const r = await run<{ leased: boolean }>(ctx, `SELECT ${leaseLive(ctx, 2)} AS leased`, [ctx.app, lease.serverId, lease.epoch]);
  if (r.rows[0]?.leased !== true) throw fenced(lease, 'the server lease lapsed');
}

export function fenced(lease: ServerLease, why: string): SessiondError {
  return new SessiondError('SESSIOND_FENCED', why, { serverId: lease.serverId, epoch: lease.epoch });
}

export function destroyed(): SessiondError {
  return new SessiondError('SESSIOND_SESSION_DESTROYED', 'the session was destroyed (its global tombstone refuses a late save)');
}

/** The ID's tombstone is still there. */
async function tombstoned(ctx: PgContext, id: string): Promise<boolean> {
  const r = await run(ctx, `SELECT 1 FROM ${ctx.t.sessions} s WHERE s.app = $1 AND s.sid = $2 AND ${tombstoneLive('s')}`, [ctx.app, id]);
  return r.rows.length > 0;
}

/** Frees the row of an expired record (or of a tombstone past its time) with this ID, so the ID can be created again. */
async function reclaimExpired(ctx: PgContext, id: string): Promise<void> {
  const where = `s.app = $1 AND s.sid = $2 AND NOT ${recordLive('s')} AND NOT ${tombstoneLive('s')}`;
  if (ctx.allocation === 'insert') {
    await run(ctx, `DELETE FROM ${ctx.t.sessions} s WHERE ${where}`, [ctx.app, id]);
  } else {
    await run(ctx, `WITH d AS (UPDATE ${ctx.t.sessions} s SET ${BLANK_SET} WHERE ${where} RETURNING s.slot) INSERT INTO ${ctx.t.blanks} (slot) SELECT slot FROM d`, [ctx.app, id]);
  }
}

/** Adds `blankBatch` empty rows to the blank records (one statement, so concurrent refills only add more). */
async function addBlanks(ctx: PgContext): Promise<void> {
  await run(
    ctx,
    `WITH n AS (INSERT INTO ${ctx.t.sessions} (version) SELECT 0 FROM generate_series(1, $1::int) RETURNING slot) INSERT INTO ${ctx.t.blanks} (slot) SELECT slot FROM n`,
    [ctx.blankBatch],
  );
}

/** Creates the record at `version` (1 but for a restore) owned by `lease`; false when a live record with this ID exists; SESSIOND_SESSION_DESTROYED while its tombstone lasts. */
export async function create(ctx: PgContext, lease: ServerLease, id: string, w: GlobalWrite, hold: boolean, version = 1): Promise<boolean> {
  const turn = hold ? HELD : 'NULL';
  const values = [ctx.app, lease.serverId, lease.epoch, id, ...writeValues(w), version];
  const cols = '(app, owner, owner_epoch, sid, attrs, created_ms, access_ms, expires_ms, inactive_ms, until_ms, principal, version)';
  if (ctx.allocation === 'insert') {
    const r = await runPrepared(
      ctx,
      `INSERT INTO ${ctx.t.sessions} AS s ${cols.slice(0, -1)}, turn_until)
       SELECT $1::text, $2::text, $3::bigint, $4::text, $5::bytea, $6::bigint, $7::bigint, $8::bigint, $9::bigint, $10::bigint, $11::text, $12::bigint, ${turn} WHERE ${leaseLive(ctx, 2)}
       ON CONFLICT (app, sid) WHERE sid IS NOT NULL DO UPDATE SET owner = EXCLUDED.owner, owner_epoch = EXCLUDED.owner_epoch, attrs = EXCLUDED.attrs,
         created_ms = EXCLUDED.created_ms, access_ms = EXCLUDED.access_ms, expires_ms = EXCLUDED.expires_ms, inactive_ms = EXCLUDED.inactive_ms,
         until_ms = EXCLUDED.until_ms, principal = EXCLUDED.principal, version = EXCLUDED.version, turn_until = ${turn}, handover_at = NULL, destroyed_ms = NULL
       WHERE NOT ${recordLive('s')} AND NOT ${tombstoneLive('s')}`,
      values,
    );
    if (r.rowCount === 1) return true;
    await checkLease(ctx, lease);
    if (await tombstoned(ctx, id)) throw destroyed();
    return false;
  }
  // The seed's design: claim a pre-allocated blank row instead of inserting one.
  for (let attempt = 0; attempt < 4; attempt++) {
    let r;
    try {
      r = await run(
        ctx,
        `WITH b AS (DELETE FROM ${ctx.t.blanks} WHERE slot = (SELECT slot FROM ${ctx.t.blanks} WHERE ${leaseLive(ctx, 2)} LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING slot)
         UPDATE ${ctx.t.sessions} s SET ${cols} = ($1::text, $2::text, $3::bigint, $4::text, $5::bytea, $6::bigint, $7::bigint, $8::bigint, $9::bigint, $10::bigint, $11::text, $12::bigint), turn_until = ${turn} FROM b WHERE s.slot = b.slot`,
        values,
      );
    } catch (e) {
      if (sqlState(e) !== '23505') throw e;
      // A record with this ID exists: an expired one gives its row back; a live one wins.
      if ((await load(ctx, id)) !== undefined) return false;
      if (await tombstoned(ctx, id)) throw destroyed();
      await reclaimExpired(ctx, id);
      continue;
    }
    if (r.rowCount === 1) return true;
    await checkLease(ctx, lease);
    await addBlanks(ctx);
  }
  return false;
}

const FENCE = (ctx: PgContext): string => `s.app = $1 AND s.sid = $2 AND s.owner = $3 AND s.owner_epoch = $4 AND s.version = $5 AND ${leaseLive(ctx, 3)}`;

/** Why a fenced statement changed nothing. */
export async function outcome(ctx: PgContext, lease: ServerLease, id: string, expectedVersion: number): Promise<WriteOutcome> {
  const r = await run<{ leased: boolean; owner: string | null; owner_epoch: string | null; version: string | null; live: boolean | null }>(
    ctx,
    `SELECT ${leaseLive(ctx, 3)} AS leased, s.owner, s.owner_epoch, s.version, ${recordLive('s')} AS live
     FROM (SELECT 1) one LEFT JOIN ${ctx.t.sessions} s ON s.app = $1 AND s.sid = $2`,
    [ctx.app, id, lease.serverId, lease.epoch],
  );
  const row = r.rows[0]!;
  if (row.leased !== true) return 'fenced';
  if (row.owner === null || row.live !== true) return 'absent';
  if (row.owner !== lease.serverId || num(row.owner_epoch) !== lease.epoch) return 'fenced';
  return num(row.version) === expectedVersion ? 'fenced' : 'conflict';
}

/** The fenced replace's four texts: [restore (sets $13 as the version)][releaseTurn]. */
const writeSql = [false, true].map((restore) =>
  [false, true].map((releaseTurn) =>
    preparedStatement(
      (ctx: PgContext): string => `UPDATE ${ctx.t.sessions} s SET attrs = $6, created_ms = $7, access_ms = $8, expires_ms = $9, inactive_ms = $10, until_ms = $11, principal = $12,
       version = ${restore ? '$13::bigint' : 's.version + 1'}${releaseTurn ? ', turn_until = NULL' : ''}
     WHERE ${FENCE(ctx)} AND ${recordLive('s')}`,
    ),
  ),
);

/** The fenced replace; `version` (a restore) sets that version instead of expectedVersion + 1. */
export async function write(ctx: PgContext, lease: ServerLease, id: string, expectedVersion: number, w: GlobalWrite, releaseTurn: boolean, version?: number): Promise<WriteOutcome> {
  const values = [ctx.app, id, lease.serverId, lease.epoch, expectedVersion, ...writeValues(w)];
  if (version !== undefined) values.push(version);
  const r = await runPrepared(ctx, writeSql[version === undefined ? 0 : 1]![releaseTurn ? 1 : 0]!(ctx), values);
  return r.rowCount === 1 ? 'ok' : outcome(ctx, lease, id, expectedVersion);
}

/** The row a destroy leaves: a tombstone (blank, no owner, no turn) until `tombstoneMs` (parameter $n) from now. */
export const tombstoneSet = (n: number): string => `attrs = ''::bytea, created_ms = 0, access_ms = 0, expires_ms = 0, inactive_ms = 0, owner = NULL, owner_epoch = 0, principal = NULL,
  version = s.version + 1, turn_until = NULL, handover_at = NULL, destroyed_ms = ${NOW_MS}, until_ms = ${NOW_MS} + $${n}::bigint`;

/** The tombstone with tombstoneMs as $6. */
export const TOMBSTONE_SET = tombstoneSet(6);

export async function destroy(ctx: PgContext, lease: ServerLease, id: string, expectedVersion: number): Promise<WriteOutcome> {
  const values = [ctx.app, id, lease.serverId, lease.epoch, expectedVersion];
  const r =
    ctx.tombstoneMs > 0
      ? await runPrepared(ctx, `UPDATE ${ctx.t.sessions} s SET ${TOMBSTONE_SET} WHERE ${FENCE(ctx)}`, [...values, ctx.tombstoneMs])
      : ctx.allocation === 'insert'
      ? await runPrepared(ctx, `DELETE FROM ${ctx.t.sessions} s WHERE ${FENCE(ctx)}`, values)
      : await run(ctx, `WITH d AS (UPDATE ${ctx.t.sessions} s SET ${BLANK_SET} WHERE ${FENCE(ctx)} RETURNING s.slot) INSERT INTO ${ctx.t.blanks} (slot) SELECT slot FROM d`, values);
  return r.rowCount === 1 ? 'ok' : outcome(ctx, lease, id, expectedVersion);
}
