import { randomBytes } from 'node:crypto';
import type { GlobalRecord, ServerLease } from '../global-store.js';
import { leaseLive } from './leases.js';
import { cmd, deadlineOf, evalScript, scanKeys, scanSessionKeys, script, type RedisContext } from './redis-context.js';
import { load } from './session-rows.js';

/**
 * Background work over the app's session keys: SCAN on every master in batches of
 * SCAN_COUNT (never KEYS, never keyspace notifications), then one script per key (cleanup:
 * per key past its end only), so it never blocks Redis for long nor holds anything a
 * request waits for. Each call makes at most one pass over the keyspace and stops early
 * at its limit.
 */

const INHERIT = script(`
local now = now_ms()
if now >= tonumber(ARGV[1]) then return -1 end
local h = redis.call('HMGET', KEYS[1], 'o', 'e', 'u')
if h[1] ~= ARGV[4] or h[2] ~= ARGV[5] or not live(h[3], now) then return 0 end
redis.call('HSET', KEYS[1], 'o', ARGV[2], 'e', ARGV[3], 't', '0')
redis.call('HDEL', KEYS[1], 'h')
return 1
`);

/** The registered servers whose latest epoch's lease is gone, as `serverId\nepoch`. */
async function deadServers(ctx: RedisContext, lease: ServerLease): Promise<Set<string>> {
  const flat = (await cmd(ctx.client, 'HGETALL', ctx.k.servers)) as string[];
  const dead = new Set<string>();
  for (let i = 0; i < flat.length; i += 2) {
    const [serverId, epoch] = [flat[i]!, flat[i + 1]!];
    if (serverId === lease.serverId || (await leaseLive(ctx, serverId, epoch))) continue;
    dead.add(`${serverId}\n${epoch}`);
  }
  return dead;
}

const FORGET = script(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1
`);

/**
 * Inherits up to `limit` sessions whose owner's lease lapsed (compare-and-set on the dead
 * owner and epoch). Scans only while a registered server is dead; a dead server is
 * forgotten after a whole pass finds nothing more of it (an older epoch of a server that
 * restarted is its own to adopt, and a session missed here is taken on its next request).
 */
export async function inheritBatch(ctx: RedisContext, lease: ServerLease, limit: number): Promise<string[]> {
  const dead = await deadServers(ctx, lease);
  if (dead.size === 0) return [];
  const taken: string[] = [];
  for await (const keys of scanSessionKeys(ctx)) {
    const owners = (await Promise.all(keys.map((key) => cmd(ctx.client, 'HMGET', key, 'o', 'e')))) as Array<[string | null, string | null]>;
    for (let i = 0; i < keys.length && taken.length < limit; i++) {
      const [o, e] = owners[i]!;
      if (o === null || e === null || !dead.has(`${o}\n${e}`)) continue;
      const r = await evalScript(ctx, INHERIT, [keys[i]!], [deadlineOf(ctx, lease), lease.serverId, lease.epoch, o, e]);
      if (r === -1) return taken; // our own lease lapsed: inherit nothing more
      if (r === 1 && !taken.includes(ctx.k.idOf(keys[i]!))) taken.push(ctx.k.idOf(keys[i]!));
    }
    if (taken.length >= limit) return taken;
  }
  for (const d of dead) await evalScript(ctx, FORGET, [ctx.k.servers], d.split('\n'));
  return taken;
}

const CLEAN = script(`
local u = redis.call('HGET', KEYS[1], 'u')
if u and not live(u, now_ms()) then redis.call('DEL', KEYS[1]); return 1 end
return 0
`);

const UNLOCK = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`);

/**
 * The keys of a SCAN batch whose record end (`u`) has passed by Redis's TIME: one HGET per
 * key and one TIME, sent together (one round trip with the client's pipelining), so the
 * CLEAN script, which checks again, runs only on those and not once per session per pass.
 * On a cluster TIME comes from any node; a key this misses is removed by its PEXPIREAT or
 * the next pass.
 */
async function pastTheirEnd(ctx: RedisContext, keys: string[]): Promise<string[]> {
  const [time, ...ends] = await Promise.all([cmd(ctx.client, 'TIME'), ...keys.map((key) => cmd(ctx.client, 'HGET', key, 'u'))]);
  const [s, us] = time as [string, string];
  const now = Number(s) * 1000 + Math.floor(Number(us) / 1000);
  return keys.filter((_, i) => {
    const u = ends[i] as string | null;
    return u !== null && u !== '0' && Number(u) <= now;
  });
}

/** Longest one cleanup election holds (a killed winner frees it by then). */
const CLEANUP_LOCK_MS = 30_000;

/**
 * Removes up to `limit` expired records when this server wins the election (`SET NX PX`:
 * it only elects, it fences nothing). Records normally vanish by themselves at their
 * PEXPIREAT; this catches any that did not. -1 when another server is cleaning now.
 */
export async function cleanupExpired(ctx: RedisContext, limit: number): Promise<number> {
  const token = randomBytes(8).toString('hex');
  if ((await cmd(ctx.client, 'SET', ctx.k.cleanup, token, 'NX', 'PX', CLEANUP_LOCK_MS)) === null) return -1;
  let removed = 0;
  try {
    for await (const keys of scanSessionKeys(ctx)) {
      for (const key of await pastTheirEnd(ctx, keys)) {
        if (removed >= limit) return removed;
        removed += (await evalScript(ctx, CLEAN, [key], [])) === 1 ? 1 : 0;
      }
    }
    return removed;
  } finally {
    await evalScript(ctx, UNLOCK, [ctx.k.cleanup], [token]).catch(() => undefined);
  }
}

async function allIds(ctx: RedisContext): Promise<string[]> {
  const ids = new Set<string>();
  for await (const keys of scanSessionKeys(ctx)) for (const key of keys) ids.add(ctx.k.idOf(key));
  return [...ids].sort();
}

export async function list(ctx: RedisContext, limit: number): Promise<GlobalRecord[]> {
  const out: GlobalRecord[] = [];
  for (const id of await allIds(ctx)) {
    if (out.length >= limit) break;
    const r = await load(ctx, id);
    if (r !== undefined) out.push(r);
  }
  return out;
}

export async function count(ctx: RedisContext): Promise<number> {
  const live = await Promise.all((await allIds(ctx)).map((id) => load(ctx, id)));
  return live.filter((r) => r !== undefined).length;
}

/**
 * Deletes the key; 1 when it held a record, which leaves a tombstone of its own for ARGV[1]
 * ms (0: none) as DESTROY does (session-rows.ts); a tombstone is deleted and not counted.
 */
const CLEAR = script(`
local now = now_ms()
local h = redis.call('HMGET', KEYS[1], 'd', 'o', 'u')
redis.call('DEL', KEYS[1])
if h[1] or not h[2] or not live(h[3], now) then return 0 end
if tonumber(ARGV[1]) > 0 then
  redis.call('HSET', KEYS[1], 'd', fmt(now))
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1
`);

export async function clear(ctx: RedisContext): Promise<number> {
  const r = await Promise.all((await allIds(ctx)).map((id) => evalScript(ctx, CLEAR, [ctx.k.session(id)], [ctx.tombstoneMs])));
  // The principal sets too (only stale members are left in them now).
  for await (const keys of scanKeys(ctx, ctx.k.principalPattern)) await Promise.all(keys.map((key) => cmd(ctx.client, 'DEL', key)));
  return r.filter((n) => n === 1).length;
}
