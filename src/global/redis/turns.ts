import type { GlobalRecord, ServerLease, TurnResult } from '../global-store.js';
import type { RedisArg } from './redis-types.js';
import { leaseLive, serverLive } from './leases.js';
import { performance } from 'node:perf_hooks';
import { cmd, deadlineOf, evalScript, evalThen, LIVE_CACHE_MS, num, script, type RedisContext, type TurnTimes } from './redis-context.js';
import { fenced } from './session-rows.js';

/**
 * The per-session turn across servers (docs/failover.md §Redis): field `t` of the session
 * hash, an instant of Redis TIME, taken and given back by one script on the session's key.
 * Taking it makes the taker the owner (creation time kept). A turn held by another server
 * is taken only once that holder's epoch is known dead: its lease key lives in another
 * slot, so the taker reads it first and then passes (owner, epoch) to the script, which
 * takes the turn only if the record still carries exactly that owner and epoch. A dead
 * epoch never lives again (leases.ts), so the read cannot go stale in the unsafe direction.
 */

/**
 * The common turn (the taker's copy current, the turn free or its own, no hand-over asked)
 * makes 3 Redis calls (TIME, an HMGET of 9 fields, an HSET) and answers one string: what
 * Redis spends on a script grows with the Redis calls it makes, the fields it reads, the
 * arguments it gets and the reply elements it builds (docs/benchmarks.md §Through mode on
 * Redis: one string a turn, and §redis-server's CPU per request). The record's other fields
 * are read only when the copy is not current. The times a touch is throttled by (l x i) come
 * with every turn, so that a through-mode touch that moves nothing is a lighter script
 * (session-rows.ts GIVE_BACK). A hand-over mark (`h`, asked of the previous owner) is read
 * with them and deleted only when there is one: a turn moving between servers, every other
 * request in through mode, makes no HDEL.
 * ARGV: deadline, server ID, epoch, turn ms, known version, then only when needed the hold
 * flag ('1': back mode) and the holder passed as dead (owner, epoch; the second try).
 */
const TAKE = script(`
local now = now_ms()
if now >= ARGV[1] + 0 then return 'fenced' end
local h = redis.call('HMGET', KEYS[1], 'o', 'e', 't', 'u', 'v', 'l', 'x', 'i', 'h')
if not h[1] or not live(h[4], now) then return 'absent' end
local mine = h[1] == ARGV[2] and h[2] == ARGV[3]
local dead = h[1] == ARGV[7] and h[2] == ARGV[8]
if not (mine or h[3] == '0' or h[3] + 0 <= now or dead) then
  local held = '0'
  if h[3] == HELD then held = '1' end
  return {'busy', h[1], h[2], held}
end
local t = HELD
if ARGV[6] ~= '1' then t = fmt(now + ARGV[4]) end
if mine then
  redis.call('HSET', KEYS[1], 't', t)
else
  redis.call('HSET', KEYS[1], 'o', ARGV[2], 'e', ARGV[3], 't', t)
  if h[9] then redis.call('HDEL', KEYS[1], 'h') end
end
local inherited = '0'
if dead and not mine then inherited = '1' end
local times = inherited .. ' ' .. (h[6] or '0') .. ' ' .. (h[7] or '0') .. ' ' .. (h[8] or '0')
if h[5] == ARGV[5] then return times end
local r = redis.call('HMGET', KEYS[1], 'c', 'a', 'p')
return {times .. ' ' .. (h[5] or '0') .. ' ' .. (r[1] or '0'), r[2], r[3]}
`);

/**
 * The holder is alive (read from its slot, or seen live less than LIVE_CACHE_MS ago:
 * polling a held turn reads it once per that). A turn held for a request is the holder
 * epoch's: once that epoch's lease is gone the turn can be taken. A turn held for good
 * (back mode) is the holder server's: a server that restarted under a new epoch is alive,
 * and the sessions of its older epochs are its own to adopt, never another's to inherit,
 * so a write-back backlog it still has cannot be overtaken (docs/failover.md §Outage). The
 * CAS below stays safe either way: once it adopts a session, the record no longer carries
 * the epoch passed as dead.
 */
async function holderLive(ctx: RedisContext, owner: string, epoch: string, held: boolean): Promise<boolean> {
  const k = `${owner}\n${held ? '*' : epoch}`;
  const now = performance.now();
  if ((ctx.seenLive.get(k) ?? 0) > now) return true;
  if (!(await (held ? serverLive(ctx, owner) : leaseLive(ctx, owner, epoch)))) {
    ctx.seenLive.delete(k);
    return false;
  }
  if (ctx.seenLive.size >= 10_000) ctx.seenLive.clear();
  ctx.seenLive.set(k, now + LIVE_CACHE_MS);
  return true;
}

/** 'fenced', 'absent', the current turn's 'inherited l x i', {'busy', owner, epoch, held} or {'inherited l x i v c', attrs, principal}. */
type TakeReply = string | [string, ...Array<string | null>];

/**
 * The script's arguments, `dead` the holder passed as dead (on the second try only). The
 * first try of a turn for one request sends 5: each argument is a Lua string in a table Redis
 * builds on every call (about as much of redis-server's CPU as a hash field read).
 */
function takeArgs(ctx: RedisContext, lease: ServerLease, turnMs: number, knownVersion: number, hold: boolean, dead?: readonly [string, string]): RedisArg[] {
  const args: RedisArg[] = [deadlineOf(ctx, lease), lease.serverId, lease.epoch, turnMs, knownVersion];
  if (hold || dead !== undefined) args.push(hold ? '1' : '0');
  if (dead !== undefined) args.push(dead[0], dead[1]);
  return args;
}

/** With `hold` (back mode) the turn is HELD_TURN: it ends when released or when the holder's server is gone. */
export function takeTurn(ctx: RedisContext, lease: ServerLease, id: string, turnMs: number, knownVersion: number, hold: boolean): Promise<TurnResult | undefined> {
  const key = [ctx.k.session(id)];
  ctx.turnTimes.delete(id);
  // Not an async function: every request's turn takes this path, answered in the command's own promise layer.
  return evalThen(ctx, TAKE, key, takeArgs(ctx, lease, turnMs, knownVersion, hold), (r) => {
    const reply = r as TakeReply;
    if (typeof reply !== 'string' && reply[0] === 'busy') return takeFromBusy(ctx, lease, id, key, turnMs, knownVersion, hold, reply);
    return taken(ctx, lease, id, knownVersion, hold, reply);
  });
}

/** The turn is held: taken only when its holder is dead (a second try, passing it as dead). */
async function takeFromBusy(ctx: RedisContext, lease: ServerLease, id: string, key: string[], turnMs: number, knownVersion: number, hold: boolean, busy: TakeReply): Promise<TurnResult | undefined> {
  const [, owner, epoch, held] = busy as [string, string, string, string];
  if (await holderLive(ctx, owner, epoch, held === '1')) return undefined;
  const r = (await evalScript(ctx, TAKE, key, takeArgs(ctx, lease, turnMs, knownVersion, hold, [owner, epoch]))) as TakeReply;
  if (typeof r !== 'string' && r[0] === 'busy') return undefined; // another server took it meanwhile, with a live lease
  return taken(ctx, lease, id, knownVersion, hold, r);
}

function taken(ctx: RedisContext, lease: ServerLease, id: string, knownVersion: number, hold: boolean, r: TakeReply): TurnResult {
  if (r === 'fenced') throw fenced(lease, 'the server lease lapsed');
  if (r === 'absent') return { record: undefined, attrsOmitted: false, inherited: false };
  const t = turnOf(lease, id, knownVersion, r);
  // A turn for one request (through mode): the times its touch is throttled by, as the record has them now.
  if (!hold) holdTimes(ctx, id, { lease, lastAccessAtMs: t.record!.lastAccessAtMs, expiresAtMs: t.record!.expiresAtMs, maxInactiveMs: t.record!.maxInactiveMs });
  return t;
}

/** Most turns whose times are kept (a bound: each is dropped by the turn's touch, write, destroy or release). */
const TURN_TIMES_MAX = 10_000;

function holdTimes(ctx: RedisContext, id: string, t: TurnTimes): void {
  if (ctx.turnTimes.size >= TURN_TIMES_MAX) ctx.turnTimes.clear();
  ctx.turnTimes.set(id, t);
}

/**
 * The record a taken turn answered. The copy current (one string): the version is the
 * caller's, and what belongs to it (attributes, principal, creation time) is left out
 * (global-store.ts TurnResult); the times other servers' touches move follow, and the idle timeout.
 */
function turnOf(lease: ServerLease, id: string, knownVersion: number, r: TakeReply): TurnResult {
  const current = typeof r === 'string';
  const [inherited, l, x, i, v, c] = (current ? r : r[0]).split(' ');
  const record: GlobalRecord = {
    id,
    attrs: current ? '' : (r[1] ?? ''),
    createdAtMs: num(c),
    lastAccessAtMs: num(l),
    expiresAtMs: num(x),
    maxInactiveMs: num(i),
    owner: lease.serverId,
    ownerEpoch: lease.epoch,
    version: current ? knownVersion : num(v),
    principal: current ? '' : (r[2] ?? ''),
  };
  return { record, attrsOmitted: current, inherited: inherited === '1' };
}

/** Gives the turn back; when a server asked for it (field `h`), tells the waiters on the app's channel in the same script. */
const RELEASE = script(`
local h = redis.call('HMGET', KEYS[1], 'o', 'e', 'h')
if h[1] ~= ARGV[1] or h[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 't', '0')
if h[3] then
  redis.call('HDEL', KEYS[1], 'h')
  redis.call('PUBLISH', ARGV[3], cjson.encode({'r', ARGV[4]}))
  return 2
end
return 1
`);

export async function releaseTurn(ctx: RedisContext, lease: ServerLease, id: string): Promise<void> {
  const r = await evalScript(ctx, RELEASE, [ctx.k.session(id)], [lease.serverId, lease.epoch, ctx.k.events, id]);
  ctx.turnTimes.delete(id);
  // The request is answered: off the holder's list (a hint for its polling fallback only).
  if (r === 2) await cmd(ctx.client, 'ZREM', ctx.k.handovers(lease.serverId), id);
}
