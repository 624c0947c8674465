import type { ServerLease } from '../global-store.js';
import { cmd, deadlineOf, evalScript, leaseKey, num, scanSessionKeys, script, type RedisContext } from './redis-context.js';

/**
 * Server leases (docs/failover.md §Redis): one key per (app, server ID) holding the epoch of
 * the server's live lease and expiring at its deadline. Epochs are `max(INCR, TIME in ms)`,
 * so an epoch is never handed out twice even when a failover loses the last INCRs (the
 * replica's counter is behind, but its clock is not). Heartbeats renew only the key that
 * still holds their epoch; once an epoch's key is gone it never comes back, which is what
 * lets another server take that epoch's sessions with a compare-and-set.
 * The lease and epoch keys share the slot `{<app>}`, so acquiring is one script.
 */

const ACQUIRE = script(`
local now = now_ms()
local e = redis.call('INCR', KEYS[1])
if e < now then e = now; redis.call('SET', KEYS[1], fmt(now)) end
local d = now + tonumber(ARGV[1])
redis.call('SET', KEYS[2], fmt(e), 'PXAT', fmt(d))
redis.call('HSET', KEYS[3], ARGV[2], fmt(e))
return {fmt(e), fmt(d)}
`);

const RENEW = script(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return '0' end
local d = now_ms() + tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', fmt(d))
return fmt(d)
`);

const RELEASE = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`);

/** A new epoch and a lease of `leaseMs` (Redis's clock); older epochs of this server are superseded at once. */
export async function acquireLease(ctx: RedisContext, serverId: string, leaseMs: number): Promise<ServerLease> {
  const [e, d] = (await evalScript(ctx, ACQUIRE, [ctx.k.epoch, ctx.k.lease(serverId), ctx.k.servers], [leaseMs, serverId])) as [string, string];
  for (const k of ctx.deadlines.keys()) if (k.startsWith(serverId + '\n')) ctx.deadlines.delete(k);
  const lease = Object.freeze({ serverId, epoch: num(e) });
  ctx.deadlines.set(leaseKey(serverId, lease.epoch), num(d));
  return lease;
}

export async function renewLease(ctx: RedisContext, lease: ServerLease, leaseMs: number): Promise<boolean> {
  const d = num(await evalScript(ctx, RENEW, [ctx.k.lease(lease.serverId)], [lease.epoch, leaseMs]));
  const k = leaseKey(lease.serverId, lease.epoch);
  if (d === 0) ctx.deadlines.delete(k);
  else ctx.deadlines.set(k, d);
  return d !== 0;
}

export async function releaseLease(ctx: RedisContext, lease: ServerLease): Promise<void> {
  ctx.deadlines.delete(leaseKey(lease.serverId, lease.epoch));
  await evalScript(ctx, RELEASE, [ctx.k.lease(lease.serverId)], [lease.epoch]);
}

/** True while `serverId`'s lease with `epoch` is live (by Redis's clock: the key expires at the deadline). */
export async function leaseLive(ctx: RedisContext, serverId: string, epoch: string | number): Promise<boolean> {
  return (await cmd(ctx.client, 'GET', ctx.k.lease(serverId))) === String(epoch);
}

/** True while `serverId` has a live lease under any epoch (its lease key exists until its deadline). */
export async function serverLive(ctx: RedisContext, serverId: string): Promise<boolean> {
  return (await cmd(ctx.client, 'EXISTS', ctx.k.lease(serverId))) === 1;
}

/** Re-reads the leases this store holds and forgets the ones gone (revoked from outside): their writes are fenced from now on. */
export async function checkLeases(ctx: RedisContext): Promise<void> {
  for (const k of [...ctx.deadlines.keys()]) {
    const [serverId, epoch] = k.split('\n') as [string, string];
    if (!(await leaseLive(ctx, serverId, epoch))) ctx.deadlines.delete(k);
  }
}

const ADOPT = script(`
if now_ms() >= tonumber(ARGV[1]) then return -1 end
local h = redis.call('HMGET', KEYS[1], 'o', 'e', 'u')
if h[1] ~= ARGV[2] or not live(h[3], now_ms()) or tonumber(h[2]) >= tonumber(ARGV[3]) then return 0 end
-- Turns held for good (back mode) stay held: the restarted server may still have their changes to write back.
if redis.call('HGET', KEYS[1], 't') == HELD then redis.call('HSET', KEYS[1], 'e', ARGV[3]) else redis.call('HSET', KEYS[1], 'e', ARGV[3], 't', '0') end
return 1
`);

/**
 * A restarted server takes back the sessions still carrying one of its older epochs (the
 * others were inherited): one pass of SCAN over every master, one fenced script per
 * session it finds its ID on.
 */
export async function adopt(ctx: RedisContext, lease: ServerLease): Promise<number> {
  let n = 0;
  for await (const keys of scanSessionKeys(ctx)) {
    const owners = (await Promise.all(keys.map((key) => cmd(ctx.client, 'HGET', key, 'o')))) as Array<string | null>;
    const mine = keys.filter((_, i) => owners[i] === lease.serverId);
    const r = await Promise.all(mine.map((key) => evalScript(ctx, ADOPT, [key], [deadlineOf(ctx, lease), lease.serverId, lease.epoch])));
    n += r.filter((x) => x === 1).length;
  }
  return n;
}
