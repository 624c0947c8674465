import { SessiondError } from '../../errors.js';
import type { BatchWrite, GlobalRecord, GlobalWrite, ServerLease, WriteOutcome } from '../global-store.js';
import { recordUntilMs } from '../record-until.js';
import { deadlineOf, evalChange, evalChangeThen, evalScript, NEVER, num, script, type RedisContext, type TurnTimes } from './redis-context.js';
import { cover, coverFor, coverWrite, uncover } from './principals.js';
import type { RedisArg } from './redis-types.js';

/**
 * The session hashes (docs/format.md §8): load, create, and the fenced write, touch and
 * destroy. Every change is one script on the session's own key (one slot, also on a
 * cluster) that checks, against Redis's TIME: the writer's lease deadline, that the
 * record is live, that the writer is its owner with this epoch, and the version (CAS).
 * Why the deadline stands in for reading the lease key: docs/failover.md §Redis.
 * A record naming a principal (field `p`) is kept in that principal's set (principals.ts):
 * COVER runs before the script that writes `p`, UNCOVER after the one that drops it.
 */

/** Fields of a record, in the order LOAD returns them. */
const FIELDS = "'a', 'c', 'l', 'x', 'i', 'o', 'e', 'v', 'u', 'p'";

const LOAD = script(`
local h = redis.call('HMGET', KEYS[1], ${FIELDS})
if not h[6] or not live(h[9], now_ms()) then return false end
return h
`);

export function toRecord(id: string, h: Array<string | null>): GlobalRecord {
  return {
    id,
    attrs: h[0] ?? '',
    createdAtMs: num(h[1]),
    lastAccessAtMs: num(h[2]),
    expiresAtMs: num(h[3]),
    maxInactiveMs: num(h[4]),
    owner: h[5]!,
    ownerEpoch: num(h[6]),
    version: num(h[7]),
    principal: h[9] ?? '',
  };
}

export async function load(ctx: RedisContext, id: string): Promise<GlobalRecord | undefined> {
  const h = (await evalScript(ctx, LOAD, [ctx.k.session(id)], [])) as Array<string | null> | null;
  return h === null ? undefined : toRecord(id, h);
}

export function fenced(lease: ServerLease, why: string): SessiondError {
  return new SessiondError('SESSIOND_FENCED', why, { serverId: lease.serverId, epoch: lease.epoch });
}

/** Sets the key's expiry to the record's end (`u`), or none. */
const EXPIRE = `
local function expire(u)
  if u == '0' then redis.call('PERSIST', KEYS[1]) else redis.call('PEXPIREAT', KEYS[1], u) end
end
`;

const CREATE = script(`${EXPIRE}
local now = now_ms()
if now >= tonumber(ARGV[1]) then return 'fenced' end
if redis.call('HEXISTS', KEYS[1], 'd') == 1 then return 'destroyed' end
local u = redis.call('HGET', KEYS[1], 'u')
if u and redis.call('HEXISTS', KEYS[1], 'o') == 1 and live(u, now) then return 'exists' end
redis.call('DEL', KEYS[1])
local t = '0'
if ARGV[10] == '1' then t = HELD end
redis.call('HSET', KEYS[1], 'a', ARGV[4], 'c', ARGV[5], 'l', ARGV[6], 'x', ARGV[7], 'i', ARGV[8], 'u', ARGV[9], 'o', ARGV[2], 'e', ARGV[3], 'v', ARGV[13], 't', t)
if ARGV[11] ~= '' then redis.call('HSET', KEYS[1], 'p', ARGV[11], 'q', ARGV[12]) end
expire(ARGV[9])
return 'ok'
`);

function writeArgs(w: GlobalWrite): string[] {
  return [w.attrs, String(w.createdAtMs), String(w.lastAccessAtMs), String(w.expiresAtMs), String(w.maxInactiveMs), String(recordUntilMs(w) ?? 0)];
}

/**
 * Creates the record at `version` (1 but for a restore) owned by `lease` (its turn held for
 * good with `hold`); false when a live record with this ID exists;
 * SESSIOND_SESSION_DESTROYED while the ID's tombstone lasts (see DESTROY).
 */
export async function create(ctx: RedisContext, lease: ServerLease, id: string, w: GlobalWrite, hold: boolean, version = 1): Promise<boolean> {
  ctx.turnTimes.delete(id);
  const q = await coverWrite(ctx, id, w);
  const args = [deadlineOf(ctx, lease), lease.serverId, lease.epoch, ...writeArgs(w), hold ? '1' : '0', w.principal ?? '', q, version];
  const r = await evalChange(ctx, CREATE, [ctx.k.session(id)], args);
  if (r === 'fenced') throw fenced(lease, 'the server lease lapsed');
  if (r === 'destroyed') throw new SessiondError('SESSIOND_SESSION_DESTROYED', 'the session was destroyed (its global tombstone refuses a late save)');
  return r === 'ok';
}

/**
 * The fence, first in every change: ARGV[1] the writer's lease deadline, ARGV[2] and [3]
 * its server ID and epoch, ARGV[4] the version it read. Returns why it refuses (or nil),
 * and the fields it read: owner, epoch, version, end, principal and its coverage (one
 * HMGET for the fence and what the change needs of the record).
 */
const FENCE = `
local function fence(now)
  if now >= tonumber(ARGV[1]) then return 'fenced' end
  local h = redis.call('HMGET', KEYS[1], 'o', 'e', 'v', 'u', 'p', 'q')
  if not h[1] or not live(h[4], now) then return 'absent' end
  if h[1] ~= ARGV[2] or h[2] ~= ARGV[3] then return 'fenced' end
  if h[3] ~= ARGV[4] then return 'conflict' end
  return nil, h
end
`;

const WRITE = script(`${EXPIRE}${FENCE}
local f, old = fence(now_ms())
if f then return f end
local v = fmt(tonumber(ARGV[4]) + 1)
if ARGV[14] then v = ARGV[14] end
local set = {'a', ARGV[6], 'c', ARGV[7], 'l', ARGV[8], 'x', ARGV[9], 'i', ARGV[10], 'u', ARGV[11], 'v', v}
if ARGV[12] ~= '' then
  set[15] = 'p'; set[16] = ARGV[12]; set[17] = 'q'; set[18] = ARGV[13]
elseif old[5] then
  redis.call('HDEL', KEYS[1], 'p', 'q')
end
if ARGV[5] == '1' then set[#set + 1] = 't'; set[#set + 1] = '0' end
redis.call('HSET', KEYS[1], unpack(set))
expire(ARGV[11])
return {'ok', old[5] or '', old[6] or ''}
`);

const fenceArgs = (ctx: RedisContext, lease: ServerLease, expectedVersion: number): string[] => [
  String(deadlineOf(ctx, lease)),
  lease.serverId,
  String(lease.epoch),
  String(expectedVersion),
];

/** A write or destroy the record script made answers {'ok', old principal, its coverage}: the member leaves the old set when the principal moved or went. */
async function done(ctx: RedisContext, id: string, r: unknown, principal: string): Promise<WriteOutcome> {
  if (!Array.isArray(r)) return r as WriteOutcome;
  const [, was, q] = r as [string, string, string];
  if (was !== principal) await uncover(ctx, was, id, q);
  return 'ok';
}

/** The fenced replace; `version` (a restore) sets that version instead of expectedVersion + 1. */
export async function write(ctx: RedisContext, lease: ServerLease, id: string, expectedVersion: number, w: GlobalWrite, releaseTurn: boolean, version?: number): Promise<WriteOutcome> {
  ctx.turnTimes.delete(id);
  const q = await coverWrite(ctx, id, w);
  const args = [...fenceArgs(ctx, lease, expectedVersion), releaseTurn ? '1' : '0', ...writeArgs(w), w.principal ?? '', q];
  if (version !== undefined) args.push(String(version));
  return done(ctx, id, await evalChange(ctx, WRITE, [ctx.k.session(id)], args), w.principal ?? '');
}

/**
 * Moves the last access (never back) and the expiry, without a new version (a touch
 * changes no attribute: every copy at this version stays current). Fenced by the lease
 * deadline, the owner and its epoch, not the version: once another server took the turn
 * it is the owner, and this touch changes nothing. Throttled like PostgreSQL's
 * (postgres/session-rows.ts): they move only once one moved by ARGV[7] ms (touchAfterMs),
 * or half the idle timeout when shorter, or the expiry moved earlier. A record naming a
 * principal whose new end would pass its coverage `q` changes nothing and answers
 * {'cover', principal, end}: the caller raises the coverage (principals.ts) and sends the
 * touch again with the coverage it got (ARGV[8], for the principal ARGV[9]).
 */
const TOUCH = script(`${EXPIRE}
local now = now_ms()
if now >= tonumber(ARGV[1]) then return 'fenced' end
local h = redis.call('HMGET', KEYS[1], 'o', 'e', 'u', 'x', 'i', 'l')
if not h[1] or not live(h[3], now) then return 'absent' end
if h[1] ~= ARGV[2] or h[2] ~= ARGV[3] then return 'fenced' end
local after = tonumber(ARGV[7])
if tonumber(h[5]) > 0 then after = math.min(after, math.floor(tonumber(h[5]) / 2)) end
local moved = tonumber(ARGV[5]) >= tonumber(h[6]) + after
if ARGV[6] ~= '' and (tonumber(ARGV[6]) < tonumber(h[4]) or tonumber(ARGV[6]) >= tonumber(h[4]) + after) then moved = true end
if not moved then
  if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 't', '0') end
  return 'ok'
end
local x = ARGV[6] ~= '' and ARGV[6] or h[4]
local l = math.max(tonumber(ARGV[5]), tonumber(h[6]))
local u = math.huge
if tonumber(x) > 0 then u = tonumber(x) end
if tonumber(h[5]) > 0 and l + tonumber(h[5]) < u then u = l + tonumber(h[5]) end
local us = '0'
if u ~= math.huge then us = fmt(u) end
local pq = redis.call('HMGET', KEYS[1], 'p', 'q')
local q = pq[2]
if pq[1] then
  if ARGV[9] == pq[1] and tonumber(ARGV[8]) > tonumber(q) then q = ARGV[8] end
  local need = ${NEVER}
  if u ~= math.huge then need = u end
  if need > tonumber(q) then return {'cover', pq[1], fmt(need)} end
  redis.call('HSET', KEYS[1], 'q', q)
end
if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'l', fmt(l), 'x', x, 'u', us, 't', '0') else redis.call('HSET', KEYS[1], 'l', fmt(l), 'x', x, 'u', us) end
expire(us)
return 'ok'
`);

/**
 * TOUCH when the caller's turn read the record's times and the touch moves none of them
 * (movesNothing): what TOUCH then does (the same fences, in the same order, and the turn
 * given back), without reading the times again nor computing the throttle. The turn's
 * times are the record's: only this turn's own statements move them while it is held.
 */
const GIVE_BACK = script(`
local now = now_ms()
if now >= ARGV[1] + 0 then return 'fenced' end
local h = redis.call('HMGET', KEYS[1], 'o', 'e', 'u')
if not h[1] or not live(h[3], now) then return 'absent' end
if h[1] ~= ARGV[2] or h[2] ~= ARGV[3] then return 'fenced' end
redis.call('HSET', KEYS[1], 't', '0')
return 'ok'
`);

/** TOUCH's throttle (the same rule, on the times the turn read): true when the touch moves neither the last access nor the expiry. */
export function movesNothing(t: TurnTimes, lastAccessAtMs: number, expiresAtMs: number | undefined, touchAfterMs: number): boolean {
  const after = t.maxInactiveMs > 0 ? Math.min(touchAfterMs, Math.floor(t.maxInactiveMs / 2)) : touchAfterMs;
  if (lastAccessAtMs >= t.lastAccessAtMs + after) return false;
  return expiresAtMs === undefined || (expiresAtMs >= t.expiresAtMs && expiresAtMs < t.expiresAtMs + after);
}

export function touch(
  ctx: RedisContext,
  lease: ServerLease,
  id: string,
  lastAccessAtMs: number,
  expiresAtMs: number | undefined,
  releaseTurn: boolean,
  touchAfterMs: number,
): Promise<WriteOutcome> {
  const key = [ctx.k.session(id)];
  const times = ctx.turnTimes.get(id);
  ctx.turnTimes.delete(id);
  // Every read-only request's last statement, and most move nothing (touchAfterMs).
  if (releaseTurn && times?.lease === lease && movesNothing(times, lastAccessAtMs, expiresAtMs, touchAfterMs)) {
    return evalChange(ctx, GIVE_BACK, key, [deadlineOf(ctx, lease), lease.serverId, lease.epoch]) as Promise<WriteOutcome>;
  }
  const expires = expiresAtMs === undefined ? '' : expiresAtMs;
  // ARGV[8] and [9]: the coverage got for the principal (none on the first try).
  const args: RedisArg[] = [deadlineOf(ctx, lease), lease.serverId, lease.epoch, releaseTurn ? '1' : '0', lastAccessAtMs, expires, touchAfterMs, '0', ''];
  // Not an async function: every request's touch is answered in the command's own promise layer.
  return evalChangeThen(ctx, TOUCH, key, args, (r) => (Array.isArray(r) ? touchCovered(ctx, id, key, args, lastAccessAtMs, r) : (r as WriteOutcome)));
}

/** The touch's script asked for more coverage of its principal ({'cover', principal, end}): raised, and the touch sent again. */
async function touchCovered(ctx: RedisContext, id: string, key: string[], args: RedisArg[], lastAccessAtMs: number, asked: unknown[]): Promise<WriteOutcome> {
  let r: unknown = asked;
  for (let attempt = 1; attempt < 3; attempt++) {
    const [, principal, need] = r as [string, string, string];
    args[7] = await cover(ctx, principal, id, coverFor(Number(need), lastAccessAtMs));
    args[8] = principal;
    r = await evalChange(ctx, TOUCH, key, args);
    if (!Array.isArray(r)) return r as WriteOutcome;
  }
  // COVER answers at least what the script asked for: only a principal changing under the owner's own touch gets here.
  throw new SessiondError('SESSIOND_GLOBAL_UNAVAILABLE', 'the principal index could not cover a touch', { backend: 'redis' });
}

/**
 * The record becomes a tombstone: the hash is replaced by one field `d` (the destroy time,
 * Redis TIME) that expires after `tombstoneMs` (ARGV[6]; 0: the key is just deleted). It
 * has no owner (`o`) nor end (`u`), so every reader and fence sees no record, and CREATE
 * refuses its ID while it lasts.
 *
 * With ARGV[5] = '1' (replicaAckMs), a destroy that finds no record still writes (a field
 * set and deleted, a net no-op that keeps a tombstone): the WAIT that follows then covers
 * the replication stream up to here, so it confirms that a replica has the delete that made
 * the record absent, whoever made it. WAIT counts only this connection's own writes;
 * without one, a logout retried after an unconfirmed delete would be acknowledged and a
 * failover could bring the session back.
 */
const DESTROY = script(`${FENCE}
local now = now_ms()
local f, was = fence(now)
if f == 'absent' and ARGV[5] == '1' then
  redis.call('HSET', KEYS[1], 'z', '1')
  redis.call('HDEL', KEYS[1], 'z')
end
if f then return f end
redis.call('DEL', KEYS[1])
if tonumber(ARGV[6]) > 0 then
  redis.call('HSET', KEYS[1], 'd', fmt(now))
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
end
return {'ok', was[5] or '', was[6] or ''}
`);

/** 'absent' when there is no record; with replicaAckMs, only once a replica confirms that (see DESTROY). */
export async function destroy(ctx: RedisContext, lease: ServerLease, id: string, expectedVersion: number): Promise<WriteOutcome> {
  ctx.turnTimes.delete(id);
  const args = [...fenceArgs(ctx, lease, expectedVersion), ctx.replicaAckMs > 0 ? '1' : '0', String(ctx.tombstoneMs)];
  return done(ctx, id, await evalChange(ctx, DESTROY, [ctx.k.session(id)], args), '');
}

/**
 * Back mode's write-back: fenced replaces that keep the turn. The sessions live in different
 * slots, so each is its own script; they are sent together (one round trip with the
 * client's pipelining) and each answers for itself.
 */
export function writeBatch(ctx: RedisContext, lease: ServerLease, items: readonly BatchWrite[]): Promise<WriteOutcome[]> {
  return Promise.all(items.map((x) => write(ctx, lease, x.id, x.expectedVersion, x.w, false)));
}
