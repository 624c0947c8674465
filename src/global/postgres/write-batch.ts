import type { BatchWrite, ServerLease, WriteOutcome } from '../global-store.js';
import { leaseLive, preparedStatement, recordLive, runPrepared, type PgContext } from './pg-context.js';
import { outcome, principalValue, untilMs } from './session-rows.js';

/**
 * Back mode's write-back (docs/failover.md §Back mode): many fenced replaces in one
 * statement, each row with its own expected version, fenced by this server's ownership and
 * live lease exactly as a write alone. The rows are locked in `sid` order first, as batched
 * turns and touches lock theirs, so the three cannot deadlock.
 *
 * Prepared, and built as the turns are (turns.ts): the rows found by `sid = ANY` through the
 * (app, sid) index and each row's values read from the arrays at its position, no join with
 * the asks, so PostgreSQL keeps one generic plan per connection for any batch size instead
 * of parsing and planning the statement at every write-back (docs/benchmarks.md, "Back mode
 * on PostgreSQL, sticky").
 */
const writeBatchSql = preparedStatement((ctx: PgContext): string => {
  const at = (p: number, type: string, name: string): string => `($${p}::${type}[])[cur.i] AS ${name}`;
  return `WITH cur AS (
       SELECT s.slot, array_position($4::text[], s.sid) AS i FROM ${ctx.t.sessions} s
       WHERE s.app = $1 AND s.sid = ANY((SELECT $4::text[])::text[]) ORDER BY s.sid FOR UPDATE OF s
     )
     UPDATE ${ctx.t.sessions} s SET attrs = v.attrs, created_ms = v.created, access_ms = v.access, expires_ms = v.expires, inactive_ms = v.inactive,
       until_ms = v.until, principal = v.principal, version = s.version + 1
     FROM cur, LATERAL (SELECT ${at(5, 'bigint', 'expected')}, ${at(6, 'bytea', 'attrs')}, ${at(7, 'bigint', 'created')}, ${at(8, 'bigint', 'access')},
       ${at(9, 'bigint', 'expires')}, ${at(10, 'bigint', 'inactive')}, ${at(11, 'bigint', 'until')}, ${at(12, 'text', 'principal')}) v
     WHERE s.slot = cur.slot AND s.owner = $2 AND s.owner_epoch = $3 AND s.version = v.expected AND ${leaseLive(ctx, 2)} AND ${recordLive('s')}
     RETURNING cur.i`;
});

/** One statement for every write given (distinct sessions); one outcome per write, in their order. The writes it did not apply are classified one by one (rare). */
export async function writeBatch(ctx: PgContext, lease: ServerLease, items: readonly BatchWrite[]): Promise<WriteOutcome[]> {
  if (items.length === 0) return [];
  const col = <T>(f: (x: BatchWrite) => T): T[] => items.map(f);
  const r = await runPrepared<{ i: number }>(ctx, writeBatchSql(ctx), [
    ctx.app,
    lease.serverId,
    lease.epoch,
    col((x) => x.id),
    col((x) => x.expectedVersion),
    col((x) => Buffer.from(x.w.attrs, 'utf8')),
    col((x) => x.w.createdAtMs),
    col((x) => x.w.lastAccessAtMs),
    col((x) => x.w.expiresAtMs),
    col((x) => x.w.maxInactiveMs),
    col((x) => untilMs(x.w)),
    col((x) => principalValue(x.w)),
  ]);
  const done = new Array<boolean>(items.length).fill(false);
  for (const row of r.rows) done[row.i - 1] = true;
  const out: WriteOutcome[] = [];
  for (const [k, x] of items.entries()) out.push(done[k] === true ? 'ok' : await outcome(ctx, lease, x.id, x.expectedVersion));
  return out;
}
