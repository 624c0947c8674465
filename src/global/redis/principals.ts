import type { DestroyAllResult, GlobalRecord, GlobalWrite, ServerLease } from '../global-store.js';
import { recordUntilMs } from '../record-until.js';
import { deadlineOf, evalChange, evalScript, NEVER, script, type RedisContext } from './redis-context.js';
import { fenced, load } from './session-rows.js';

/**
 * The global principal index on Redis and Redis Cluster (docs/failover.md §Sessions of a
 * principal). A session hash keeps its principal in field `p`; the principal's sorted set
 * `<prefix>p{<app>:<principal>}` holds its session IDs. On a cluster the set is in another
 * slot than the session, so no script can change both: the set is kept a **superset** of the
 * live sessions naming the principal, and readers check every candidate's record.
 *
 * - A member's score is its **coverage**: an instant (Redis TIME ms) until which the member
 *   stays, never earlier than the end (`u`) of the record while that record names the
 *   principal. The record keeps the coverage in field `q`. Before a create or write naming a
 *   principal, COVER adds (or raises) the member to the coverage the write needs; only then
 *   does the record script run, storing `q`. A touch that would move `u` past `q` is refused
 *   by the record script, which answers what it needs; COVER raises it, and the touch runs
 *   again. So a live record naming a principal is always a member with a score >= its `u`.
 * - A member leaves only (1) once its score is past (the record expired by then), in
 *   bounded batches at every COVER and read, or (2) by UNCOVER, after a destroy or a change
 *   of principal, and only if its score is still the `q` the record had (COVER strictly
 *   raises the score of a member it finds, so a re-add racing the removal always wins).
 *   Candidates a reader finds stale (moved, destroyed) are left to (1): removing them on
 *   sight could race a write whose COVER ran and whose record script has not yet.
 * - The set expires (PEXPIREAT) at its highest score, so it never outlives its members, and
 *   is persistent only while a member's session never expires.
 */

/** Most expired members removed by one script. */
const PRUNE = 100;

const PRUNE_EXPIRED = `
local function prune(now)
  local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. fmt(now), 'LIMIT', 0, ${PRUNE})
  if #old > 0 then redis.call('ZREM', KEYS[1], unpack(old)) end
end
`;

/** Adds the member with at least the wanted score (strictly above the score it had); the set expires at its highest. */
const COVER = script(`${PRUNE_EXPIRED}
prune(now_ms())
local s = tonumber(ARGV[2])
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if cur and s <= tonumber(cur) then s = tonumber(cur) + 1 end
redis.call('ZADD', KEYS[1], fmt(s), ARGV[1])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if tonumber(top[2]) >= ${NEVER} then redis.call('PERSIST', KEYS[1]) else redis.call('PEXPIREAT', KEYS[1], fmt(tonumber(top[2]))) end
return fmt(s)
`);

/** Removes the member only if its score is still the one the destroyed or moved record had. */
const UNCOVER = script(`
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if cur and tonumber(cur) == tonumber(ARGV[2]) then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0
`);

/** The members whose score is not past (after pruning a batch of the others). */
const CANDIDATES = script(`${PRUNE_EXPIRED}
local now = now_ms()
prune(now)
return redis.call('ZRANGEBYSCORE', KEYS[1], fmt(now), '+inf')
`);

/**
 * destroyAllOf on one session: a tombstone as DESTROY makes it (session-rows.ts), only when
 * the record is live, names the principal, and nobody holds its turn. ARGV: the lease
 * deadline, the principal, tombstoneMs. Answers {'ok', q}, 'busy', 'skip' or 'fenced'.
 */
const DESTROY_OF = script(`
local now = now_ms()
if now >= tonumber(ARGV[1]) then return 'fenced' end
local h = redis.call('HMGET', KEYS[1], 'o', 'u', 'p', 't', 'q')
if not h[1] or not live(h[2], now) or h[3] ~= ARGV[2] then return 'skip' end
if h[4] and h[4] ~= '0' and tonumber(h[4]) > now then return 'busy' end
redis.call('DEL', KEYS[1])
if tonumber(ARGV[3]) > 0 then
  redis.call('HSET', KEYS[1], 'd', fmt(now))
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return {'ok', h[5] or ''}
`);

/** The coverage a record ending at `u` needs, with headroom (as long again as it has left from `from`) so touches rarely need more. */
export function coverFor(u: number | null, from: number): number {
  if (u === null) return NEVER;
  return Math.min(NEVER, u + Math.max(0, u - from));
}

/** Makes `id` a member of the principal's set covering at least `wanted`; resolves the score set (the record's `q`). */
export async function cover(ctx: RedisContext, principal: string, id: string, wanted: number): Promise<string> {
  return String(await evalScript(ctx, COVER, [ctx.k.principal(principal)], [id, wanted]));
}

/** COVER before a create or write: '' when the write names no principal. */
export function coverWrite(ctx: RedisContext, id: string, w: GlobalWrite): Promise<string> {
  if (w.principal === undefined || w.principal === '') return Promise.resolve('');
  return cover(ctx, w.principal, id, coverFor(recordUntilMs(w), w.lastAccessAtMs));
}

/** After a destroy or a change of principal: the member leaves the old principal's set unless re-added since. */
export async function uncover(ctx: RedisContext, principal: string, id: string, q: string): Promise<void> {
  if (principal === '' || q === '') return;
  // Best effort: a member left behind is a stale candidate until its score passes.
  await evalScript(ctx, UNCOVER, [ctx.k.principal(principal)], [id, q]).catch(() => undefined);
}

async function candidates(ctx: RedisContext, principal: string): Promise<string[]> {
  return (await evalScript(ctx, CANDIDATES, [ctx.k.principal(principal)], [])) as string[];
}

export async function sessionsOf(ctx: RedisContext, principal: string, limit: number): Promise<GlobalRecord[]> {
  const records = await Promise.all((await candidates(ctx, principal)).map((id) => load(ctx, id)));
  const out = records.filter((r): r is GlobalRecord => r !== undefined && r.principal === principal);
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, limit);
}

export async function destroyAllOf(ctx: RedisContext, lease: ServerLease, principal: string, except: readonly string[]): Promise<DestroyAllResult> {
  const keep = new Set(except);
  const ids = (await candidates(ctx, principal)).filter((id) => !keep.has(id));
  const destroyed: string[] = [];
  const busy: string[] = [];
  let refused = false;
  await Promise.all(
    ids.map(async (id) => {
      const r = await evalChange(ctx, DESTROY_OF, [ctx.k.session(id)], [deadlineOf(ctx, lease), principal, ctx.tombstoneMs]);
      if (r === 'fenced') refused = true;
      else if (r === 'busy') busy.push(id);
      else if (Array.isArray(r)) {
        destroyed.push(id);
        await uncover(ctx, principal, id, String(r[1]));
      }
    }),
  );
  if (refused) throw fenced(lease, 'the server lease lapsed');
  return { destroyed: destroyed.sort(), busy: busy.sort() };
}
