import type { HandoverEvents, HandoverListener, ServerLease } from '../global-store.js';
import { deliverHandoverMessage, handoverListener } from '../handover-message.js';
import { classify, cmd, evalScript, script, type RedisContext } from './redis-context.js';
import type { RedisSubscriber } from './redis-types.js';

/**
 * Back mode's hand-over on Redis (docs/failover.md §Back mode), as on PostgreSQL: a server
 * that needs a session another live server holds marks the session hash (field `h`, the
 * request time) and publishes on the app's channel in the same script; the holder writes the
 * session back and releases its turn, whose script publishes to the waiters (turns.ts).
 * Pub/sub is the fast path (on a cluster PUBLISH reaches every node); the holder's sorted set
 * of requests is what its polling fallback reads when a message was missed. That set lives
 * in the app's slot, not the session's, so it is written after the script: it is only a hint
 * (a stale entry is checked against the hash and dropped; a missing one is added again by the
 * requester's next ask, every handoverPollMs while it waits). Messages are JSON arrays:
 * `["h", owner, sid]` and `["r", sid]` (IDs may hold any character).
 */

const ASK = script(`
local h = redis.call('HMGET', KEYS[1], 'o', 'e', 't', 'u')
if not h[1] or not live(h[4], now_ms()) or h[3] == '0' or (h[1] == ARGV[1] and h[2] == ARGV[2]) then return false end
if not redis.call('HGET', KEYS[1], 'h') then redis.call('HSET', KEYS[1], 'h', fmt(now_ms())) end
redis.call('PUBLISH', ARGV[3], cjson.encode({'h', h[1], ARGV[4]}))
return h[1]
`);

/** Asks the server holding the session's turn to hand it over (nothing when nobody else holds it). */
export async function requestHandover(ctx: RedisContext, lease: ServerLease, id: string): Promise<void> {
  const owner = (await evalScript(ctx, ASK, [ctx.k.session(id)], [lease.serverId, lease.epoch, ctx.k.events, id])) as string | null;
  if (owner !== null) await cmd(ctx.client, 'ZADD', ctx.k.handovers(owner), 'NX', Date.now(), id);
}

/** Sessions this server holds that another server asked for, oldest request first; stale entries are dropped on the way. */
export async function handoverRequests(ctx: RedisContext, lease: ServerLease, limit: number): Promise<string[]> {
  const key = ctx.k.handovers(lease.serverId);
  const ids = (await cmd(ctx.client, 'ZRANGE', key, 0, limit - 1)) as string[];
  const out: string[] = [];
  for (const id of ids) {
    const [o, e, h] = (await cmd(ctx.client, 'HMGET', ctx.k.session(id), 'o', 'e', 'h')) as Array<string | null>;
    if (o === lease.serverId && e === String(lease.epoch) && h !== null) out.push(id);
    else await cmd(ctx.client, 'ZREM', key, id);
  }
  return out;
}

/** Subscribes to the app's channel on a connection of its own (the client's `duplicate()`). */
export async function subscribe(ctx: RedisContext, serverId: string, on: HandoverEvents): Promise<HandoverListener> {
  if (ctx.client.duplicate === undefined) throw new TypeError('this Redis client has no duplicate(): hand-over runs on polling alone');
  const sub: RedisSubscriber = ctx.client.duplicate();
  const listener = handoverListener(() => sub.disconnect());
  sub.on('message', (channel, message) => {
    if (channel === ctx.k.events) deliverHandoverMessage(message, serverId, on);
  });
  sub.on('error', () => void listener.close());
  sub.on('end', () => void listener.close());
  try {
    await sub.subscribe(ctx.k.events);
  } catch (e) {
    await listener.close();
    throw classify(e);
  }
  return listener;
}
