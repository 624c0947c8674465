import { createHash } from 'node:crypto';
import { SessiondError } from '../../errors.js';
import type { RedisArg, RedisClientLike, RedisCommander } from './redis-types.js';

/**
 * What every command of the Redis backend shares: the client, the key names of one app
 * (docs/format.md §8), the Lua scripts and how failures are classified. Times of the
 * protocol (leases, turns, "is this record live") are Redis `TIME` read inside the
 * scripts, never a server's clock.
 */

const NEEDS_ESCAPE = /[%{}:*?[\]\\]/;

/** `% { } : * ? [ ] \` escaped as %XX: a name never ends a hash tag, joins another app's keys, or globs in SCAN MATCH. */
export function escapeName(s: string): string {
  // Most names (every session ID sessiond generates) have nothing to escape: no replace, no callback.
  if (!NEEDS_ESCAPE.test(s)) return s;
  return s.replace(/[%{}:*?[\]\\]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

export function unescapeName(s: string): string {
  return s.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** A glob pattern that matches `s` literally. */
function globLiteral(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => '\\' + c);
}

export interface RedisKeys {
  readonly meta: string;
  readonly epoch: string;
  readonly cleanup: string;
  /** Every server that took a lease, with its latest epoch (background inheritance looks only for the dead ones). */
  readonly servers: string;
  /** Pub/sub channel of the app: hand-over requests and released turns (back mode; handovers.ts). */
  readonly events: string;
  /** Sorted set of the sessions another server asked `serverId` to hand over, by request time (the polling fallback). */
  handovers(serverId: string): string;
  lease(serverId: string): string;
  session(id: string): string;
  /**
   * The sorted set indexing the sessions of a principal (principals.ts): its own hash tag
   * `{<app>:<principal>}`, so principals spread over the cluster's slots; a session key
   * never matches it (`p{` is not `{`).
   */
  principal(principal: string): string;
  /** SCAN MATCH pattern of the app's principal sets (`clear`). */
  readonly principalPattern: string;
  /** SCAN MATCH pattern of the app's session keys. */
  readonly sessionPattern: string;
  /** The session ID of a key the pattern matched. */
  idOf(key: string): string;
}

export function redisKeys(prefix: string, app: string): RedisKeys {
  const a = escapeName(app);
  const sessionHead = `${prefix}{${a}:`;
  return {
    meta: `${prefix}{${a}}:meta`,
    epoch: `${prefix}{${a}}:epoch`,
    cleanup: `${prefix}{${a}}:cleanup`,
    servers: `${prefix}{${a}}:servers`,
    events: `${prefix}{${a}}:events`,
    handovers: (serverId) => `${prefix}{${a}}:handover:${escapeName(serverId)}`,
    lease: (serverId) => `${prefix}{${a}}:lease:${escapeName(serverId)}`,
    session: (id) => `${sessionHead}${escapeName(id)}}`,
    principal: (p) => `${prefix}p{${a}:${escapeName(p)}}`,
    principalPattern: `${globLiteral(`${prefix}p{${a}:`)}*}`,
    sessionPattern: `${globLiteral(sessionHead)}*}`,
    idOf: (key) => unescapeName(key.slice(sessionHead.length, -1)),
  };
}

/** One Lua script: its source (with the shared prelude) and its SHA1 for EVALSHA. */
export interface Script {
  readonly src: string;
  readonly sha: string;
}

/**
 * Field `t` of a turn held for good (back mode): later than any Redis TIME, so it ends only
 * when released or when its holder's lease is gone (docs/format.md §8).
 */
export const HELD_TURN = '9007199254740992';

/** The coverage of a session that never expires in its principal's set (principals.ts): 2^52 ms, beyond any TIME, and +1 stays exact. */
export const NEVER = 4503599627370496;

/**
 * The helpers a script may use: Redis's clock in ms, integers printed without exponent, "is
 * this record live". Each is a closure the script creates on every call, so a script gets only
 * those it names (docs/benchmarks.md §Through mode on Redis: redis-server's CPU per request).
 * A numeric string becomes a number by arithmetic (`s + 0`: one strtod) rather than
 * `tonumber(s)` (Lua 5.1 converts twice: lua_isnumber, then lua_tonumber); on a string that is
 * not a number both fail the script (a comparison with nil, or arithmetic on a string).
 */
const HELPERS: ReadonlyArray<readonly [RegExp, string]> = [
  [
    /\bnow_ms\(/,
    `
local function now_ms()
  local t = redis.call('TIME')
  local us = t[2] + 0
  return t[1] * 1000 + (us - us % 1000) / 1000
end`,
  ],
  [/\bfmt\(/, `\nlocal function fmt(n) return string.format('%.0f', n) end`],
  [/\blive\(/, `\nlocal function live(u, now) return u == '0' or u + 0 > now end`],
  [/\bHELD\b/, `\nlocal HELD = '${HELD_TURN}'`],
];

export function script(body: string): Script {
  const src = HELPERS.filter(([uses]) => uses.test(body))
    .map(([, helper]) => helper)
    .join('') + '\n' + body;
  return Object.freeze({ src, sha: createHash('sha1').update(src).digest('hex') });
}

export interface RedisContext {
  readonly client: RedisClientLike;
  /** The clients SCAN runs on: every master of a cluster, or the one server. */
  masters(): RedisCommander[];
  readonly app: string;
  readonly k: RedisKeys;
  /**
   * The deadline (Redis TIME, ms) of each lease this store holds, by `serverId\nepoch`,
   * learnt from the lease's own script; session scripts refuse to write past it. A lease
   * not here (released, lost, superseded) has deadline 0: every write is fenced.
   */
  readonly deadlines: Map<string, number>;
  /**
   * Other servers' leases seen live, by `serverId\nepoch`: until when (this process's
   * monotonic clock) a turn they hold is waited for without reading their lease again. Only
   * ever delays a takeover (by LIVE_CACHE_MS at most), never allows one.
   */
  readonly seenLive: Map<string, number>;
  /**
   * Through mode: the times of each session whose turn this store took for one request, as
   * the turn read them from the record (turns.ts), until the turn's touch, write, destroy or
   * release. The record's times cannot move meanwhile but by this turn's own statements (a
   * touch is fenced by the owner), so its touch can tell at once that it moves nothing
   * (session-rows.ts GIVE_BACK).
   */
  readonly turnTimes: Map<string, TurnTimes>;
  /** After each change, WAIT until one replica has it, at most this long (0: do not wait). */
  readonly replicaAckMs: number;
  /** How long a destroyed session's tombstone hash lasts (0: none). */
  readonly tombstoneMs: number;
}

/** The record's times a touch is throttled by, as a turn of `lease` read them. */
export interface TurnTimes {
  readonly lease: object;
  readonly lastAccessAtMs: number;
  readonly expiresAtMs: number;
  readonly maxInactiveMs: number;
}

/** Longest a lease seen live is trusted without reading it again (turn polling reads it once per this). */
export const LIVE_CACHE_MS = 500;

export const leaseKey = (serverId: string, epoch: number): string => `${serverId}\n${epoch}`;

/** The leaseKey of each lease object (its fields are readonly): every session command looks its deadline up. */
const keyOfLease = new WeakMap<object, string>();

/** The deadline a session script checks for `lease` (0 when this store does not hold it). */
export function deadlineOf(ctx: RedisContext, lease: { readonly serverId: string; readonly epoch: number }): number {
  let k = keyOfLease.get(lease);
  if (k === undefined) {
    k = leaseKey(lease.serverId, lease.epoch);
    keyOfLease.set(lease, k);
  }
  return ctx.deadlines.get(k) ?? 0;
}

const UNAVAILABLE_REPLY = /^(CLUSTERDOWN|TRYAGAIN|LOADING|READONLY|MASTERDOWN|BUSY|NOREPLICAS|MOVED|ASK)\b/;

/**
 * A failure to reach Redis (refused, reset, timed out, the cluster down or failing over)
 * is SESSIOND_GLOBAL_UNAVAILABLE; any other error reply (a bug in a script) is left as is.
 */
export function classify(e: unknown): unknown {
  if (e instanceof SessiondError) return e;
  const err = e as { name?: unknown; message?: unknown; code?: unknown } | null;
  const msg = String(err?.message ?? e);
  if (err?.name === 'ReplyError' && !UNAVAILABLE_REPLY.test(msg)) return e;
  return new SessiondError('SESSIOND_GLOBAL_UNAVAILABLE', msg, { backend: 'redis', errno: typeof err?.code === 'string' ? err.code : undefined }, { cause: e });
}

export async function cmd(c: RedisCommander, command: string, ...args: RedisArg[]): Promise<unknown> {
  try {
    return await c.call(command, ...args);
  } catch (e) {
    throw classify(e);
  }
}

const same = (r: unknown): unknown => r;

/** Runs a script by SHA1, loading it on the node that lacks it (a new or failed-over master). */
export function evalScript(ctx: RedisContext, s: Script, keys: string[], args: RedisArg[]): Promise<unknown> {
  return evalThen(ctx, s, keys, args, same);
}

/**
 * evalScript with the caller's `then` on its answer, in the one promise layer of the
 * command's own (no async wrapper: the turn and the touch, every request's two commands,
 * take this path; docs/benchmarks.md §Through mode on Redis: one string a turn).
 */
export function evalThen<T>(ctx: RedisContext, s: Script, keys: string[], args: RedisArg[], then: (r: unknown) => T | Promise<T>): Promise<T> {
  let sent: Promise<unknown>;
  try {
    sent = ctx.client.call('EVALSHA', s.sha, keys.length, ...keys, ...args);
  } catch (e) {
    sent = Promise.reject(e); // an application's client that throws instead of rejecting
  }
  return sent.then(then, (e: unknown) => {
    if (!/^NOSCRIPT/.test(String((e as Error)?.message))) throw classify(e);
    return cmd(ctx.client, 'EVAL', s.src, keys.length, ...keys, ...args).then(then);
  });
}

/**
 * Runs a script that makes an acknowledged change; with `replicaAckMs`, then `WAIT 1
 * replicaAckMs` on the same connection (so on the master the script wrote to), and a
 * change no replica confirmed in time is SESSIOND_GLOBAL_UNAVAILABLE: not acknowledged,
 * though the master may keep it (the next turn reads whatever survived).
 */
export function evalChange(ctx: RedisContext, s: Script, keys: string[], args: RedisArg[]): Promise<unknown> {
  return evalChangeThen(ctx, s, keys, args, same);
}

/** evalChange with the caller's `then` on its answer (as evalThen). */
export function evalChangeThen<T>(ctx: RedisContext, s: Script, keys: string[], args: RedisArg[], then: (r: unknown) => T | Promise<T>): Promise<T> {
  // Not an async function: every change takes this path, and one more promise layer is measurable.
  return ctx.replicaAckMs === 0 ? evalThen(ctx, s, keys, args, then) : evalReplicated(ctx, s, keys, args).then(then);
}

/** evalChange with replicaAckMs: the script and its WAIT together. */
async function evalReplicated(ctx: RedisContext, s: Script, keys: string[], args: RedisArg[]): Promise<unknown> {
  const send = async (first: RedisArg[]): Promise<[unknown, unknown]> => {
    if (ctx.client.pipeline === undefined) return [await ctx.client.call(...(first as [string, ...RedisArg[]])), await ctx.client.call('WAIT', 1, ctx.replicaAckMs)];
    // ioredis names a pipeline's commands by their lower-case methods.
    const r = await ctx.client.pipeline([[String(first[0]).toLowerCase(), ...first.slice(1)], ['wait', 1, ctx.replicaAckMs]]).exec();
    if (r === null) throw new Error('pipeline aborted');
    if (r[0]![0] !== null) throw r[0]![0];
    if (r[1]![0] !== null) throw r[1]![0];
    return [r[0]![1], r[1]![1]];
  };
  let out: [unknown, unknown];
  try {
    out = await send(['EVALSHA', s.sha, keys.length, ...keys, ...args]);
  } catch (e) {
    if (!/^NOSCRIPT/.test(String((e as Error)?.message))) throw classify(e);
    out = await send(['EVAL', s.src, keys.length, ...keys, ...args]).catch((e2: unknown) => {
      throw classify(e2);
    });
  }
  if (Number(out[1]) < 1) {
    throw new SessiondError('SESSIOND_GLOBAL_UNAVAILABLE', `no replica confirmed the change within replicaAckMs (${ctx.replicaAckMs} ms)`, { backend: 'redis', replicaAckMs: ctx.replicaAckMs });
  }
  return out[0];
}

/** Keys SCAN returns per call on one node. */
export const SCAN_COUNT = 500;

/**
 * Every session key of the app, in batches of about SCAN_COUNT per node, from every master
 * (no keyspace notifications: on a cluster they reach only the node holding the key). A key
 * may come twice (SCAN's guarantee); callers that count dedupe.
 */
export function scanSessionKeys(ctx: RedisContext): AsyncGenerator<string[]> {
  return scanKeys(ctx, ctx.k.sessionPattern);
}

/** Every key matching `pattern`, as scanSessionKeys does it. */
export async function* scanKeys(ctx: RedisContext, pattern: string): AsyncGenerator<string[]> {
  for (const node of ctx.masters()) {
    let cursor = '0';
    do {
      const r = (await cmd(node, 'SCAN', cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT)) as [string, string[]];
      cursor = r[0];
      if (r[1].length > 0) yield r[1];
    } while (cursor !== '0');
  }
}

export function num(v: unknown): number {
  return v === null || v === undefined || v === false ? 0 : Number(v);
}
