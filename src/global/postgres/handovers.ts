import type { HandoverListener, HandoverEvents, ServerLease } from '../global-store.js';
import { deliverHandoverMessage, handoverListener } from '../handover-message.js';
import { classify, HELD, run, type PgContext } from './pg-context.js';
import type { PgPoolClient } from './pg-types.js';

/**
 * Back mode's hand-over (docs/failover.md §Back mode): a server that needs a session
 * another live server holds marks the row (`handover_at`) and notifies the app's channel
 * in the same statement; the holder writes the session back and releases its turn, which
 * notifies the waiters. LISTEN/NOTIFY is the fast path; the mark is what the holder's
 * polling fallback finds when a notification was missed (its listening connection was
 * down, or it subscribed late). Payloads are JSON arrays (IDs may hold any character):
 * `["h", owner, sid]` and `["r", sid]`.
 */

/** Asks the live holder of the session's turn to hand it over. */
export async function requestHandover(ctx: PgContext, lease: ServerLease, id: string): Promise<void> {
  await run(
    ctx,
    `UPDATE ${ctx.t.sessions} s SET handover_at = COALESCE(s.handover_at, now())
     WHERE s.app = $1 AND s.sid = $2 AND s.turn_until IS NOT NULL AND NOT (s.owner = $3 AND s.owner_epoch = $4)
     RETURNING pg_notify($5, json_build_array('h', s.owner, s.sid)::text)`,
    [ctx.app, id, lease.serverId, lease.epoch, ctx.channel],
  );
}

/** Sessions this server holds that another server asked for (the polling fallback); at most `limit`. */
export async function handoverRequests(ctx: PgContext, lease: ServerLease, limit: number): Promise<string[]> {
  const r = await run<{ sid: string }>(
    ctx,
    `SELECT s.sid FROM ${ctx.t.sessions} s
     WHERE s.app = $1 AND s.owner = $2 AND s.owner_epoch = $3 AND s.handover_at IS NOT NULL AND s.turn_until = ${HELD}
     ORDER BY s.handover_at LIMIT $4`,
    [ctx.app, lease.serverId, lease.epoch, limit],
  );
  return r.rows.map((x) => x.sid);
}

/** Listens on the app's channel on a connection of its own, for as long as it lives. */
export async function subscribe(ctx: PgContext, serverId: string, on: HandoverEvents): Promise<HandoverListener> {
  const client: PgPoolClient = await ctx.pool.connect().catch((e: unknown) => {
    throw classify(e);
  });
  const listener = handoverListener(() => client.release(true)); // never back to the pool: it is still LISTENing
  client.on?.('notification', (m: { channel: string; payload?: string }) => {
    if (m.channel === ctx.channel && m.payload !== undefined) deliverHandoverMessage(m.payload, serverId, on);
  });
  client.on?.('error', () => void listener.close());
  client.on?.('end', () => void listener.close());
  try {
    await client.query(`LISTEN "${ctx.channel}"`);
  } catch (e) {
    await listener.close();
    throw classify(e);
  }
  return listener;
}
