import { HELD, leaseLive, num, run, type PgContext } from './pg-context.js';
import type { ServerLease } from '../global-store.js';

/**
 * Server leases (docs/failover.md §Leases): one row per (app, server ID). Every start takes
 * a new epoch from a sequence, so the paused or restarted self of a server is a different
 * owner; heartbeats extend the lease only while it is live and still carries their epoch.
 * Expiry is the database's now(), so servers' clocks do not matter.
 */

const ms = (p: number): string => `($${p}::bigint * interval '1 millisecond')`;

export async function acquireLease(ctx: PgContext, serverId: string, leaseMs: number): Promise<ServerLease> {
  const r = await run<{ epoch: string }>(
    ctx,
    `INSERT INTO ${ctx.t.leases} AS l (app, server_id, epoch, expires_at)
     VALUES ($1, $2, nextval('${ctx.t.epochs}'), now() + ${ms(3)})
     ON CONFLICT (app, server_id) DO UPDATE SET epoch = EXCLUDED.epoch, expires_at = EXCLUDED.expires_at, started_at = now()
     RETURNING l.epoch`,
    [ctx.app, serverId, leaseMs],
  );
  return Object.freeze({ serverId, epoch: num(r.rows[0]!.epoch) });
}

export async function renewLease(ctx: PgContext, lease: ServerLease, leaseMs: number): Promise<boolean> {
  const r = await run(
    ctx,
    `UPDATE ${ctx.t.leases} SET expires_at = now() + ${ms(4)}
     WHERE app = $1 AND server_id = $2 AND epoch = $3 AND expires_at > now()`,
    [ctx.app, lease.serverId, lease.epoch, leaseMs],
  );
  return r.rowCount === 1;
}

export async function releaseLease(ctx: PgContext, lease: ServerLease): Promise<void> {
  await run(ctx, `UPDATE ${ctx.t.leases} SET expires_at = now() WHERE app = $1 AND server_id = $2 AND epoch = $3`, [ctx.app, lease.serverId, lease.epoch]);
}

/**
 * A restarted server takes back the sessions still carrying one of its older epochs (the
 * others were inherited). Turns its older self held for good (back mode) stay held: the
 * restarted server may still have their changes to write back. The rows are locked in
 * `sid` order, as batched turns lock theirs, so the two cannot deadlock.
 */
export async function adopt(ctx: PgContext, lease: ServerLease): Promise<number> {
  const r = await run(
    ctx,
    `WITH cur AS (
       SELECT slot FROM ${ctx.t.sessions} WHERE app = $1 AND sid IS NOT NULL AND owner = $2 AND owner_epoch < $3 AND ${leaseLive(ctx, 2)} ORDER BY sid FOR UPDATE
     )
     UPDATE ${ctx.t.sessions} s SET owner_epoch = $3, turn_until = CASE WHEN s.turn_until = ${HELD} THEN s.turn_until END
     FROM cur WHERE s.slot = cur.slot AND s.owner = $2 AND s.owner_epoch < $3`,
    [ctx.app, lease.serverId, lease.epoch],
  );
  return r.rowCount ?? 0;
}
