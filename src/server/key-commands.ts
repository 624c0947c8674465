import type { SessionEngine } from '../engine/session-engine.js';
import { isSessiondError } from '../errors.js';
import { effectiveExpiryMs, type SessionState } from '../session/session-state.js';
import type { CommandCall, CommandSpec } from './command-context.js';
import { expireAllowed, expireAt, parseExpireFlags, parseGetexArgs, parseSetArgs, type Expiry, type SetArgs } from './expire-args.js';
import { idOfKey, saveValue, valueOf, valueText } from './key-value.js';
import { durablyOk, fastExpire } from './fast-commands.js';
import { NULL, OK, ONE, ZERO, array, bulk, error, int, type Reply } from './resp-serializer.js';

/**
 * The key commands, each mapped onto the engine (docs/server.md "Commands"). A key is a
 * session; a write is answered only once the engine reports it durable.
 */

function state(engine: SessionEngine, key: Buffer): SessionState | undefined {
  return engine.get(idOfKey(key));
}

export function valueReply(s: SessionState | undefined): Reply {
  return s === undefined ? NULL : bulk(valueText(s) ?? valueOf(s));
}

/** Saves `value` under `key` and resolves once it is durable (durablyOk). */
function store(engine: SessionEngine, id: string, key: Buffer, value: Buffer, expiresAtMs: number | undefined): Promise<Reply> {
  return durablyOk(engine, id, saveValue(engine, id, key, value, expiresAtMs));
}

/**
 * DEL leaves a tombstone (docs/server.md "DEL and late writes"). While it lasts, a SET that
 * carries an expiry, the form every session store writes a session with, is a late write
 * of a logged-out session: it is not stored and gets a nil reply, as a SET whose NX/XX
 * condition fails does. A SET without an expiry is a new value: it lifts the tombstone.
 */
function refusedByTombstone(engine: SessionEngine, id: string, expiry: Expiry): boolean {
  if (!engine.isDestroyed(id)) return false;
  if (expiry.kind === 'at') return true;
  engine.forgetDestroyed(id);
  return false;
}

function expiresAt(expiry: Expiry, current: SessionState | undefined): number | undefined {
  if (expiry.kind === 'at') return expiry.atMs;
  if (expiry.kind === 'keep') return current === undefined ? 0 : undefined;
  return 0;
}

function isBlindSet(args: readonly Buffer[]): boolean {
  // Any option but EX/PX/EXAT/PXAT makes the SET read the key first.
  for (let i = 3; i < args.length; i++) {
    const w = args[i]!.toString('latin1').toUpperCase();
    if (w === 'NX' || w === 'XX' || w === 'GET' || w === 'KEEPTTL') return false;
  }
  return true;
}

async function runSet(call: CommandCall, o: SetArgs): Promise<Reply> {
  const { engine } = call.server;
  const key = call.args[1]!;
  const value = call.args[2]!;
  const id = idOfKey(key);
  if (refusedByTombstone(engine, id, o.expiry)) return NULL;
  if (o.expiry.kind === 'none' || o.expiry.kind === 'at') {
    if (!o.nx && !o.xx && !o.get) {
      await store(engine, id, key, value, expiresAt(o.expiry, undefined));
      return OK;
    }
  }
  // Conditional: one at a time per key, so two SET NX cannot both win.
  return engine.withSession(id, async () => {
    const current = engine.get(id);
    const old = o.get ? valueReply(current) : undefined;
    if ((o.nx && current !== undefined) || (o.xx && current === undefined)) return old ?? NULL;
    await store(engine, id, key, value, expiresAt(o.expiry, current));
    return old ?? OK;
  });
}

const set: CommandSpec = {
  name: 'set',
  arity: -3,
  kind: (args) => (isBlindSet(args) ? 'write' : 'read-write'),
  run(call) {
    const o = parseSetArgs(call.args.slice(3), call.server.engine.clock.now());
    if (typeof o === 'string') return error(o);
    return runSet(call, o);
  },
};

const get: CommandSpec = {
  name: 'get',
  arity: 2,
  kind: 'read',
  run: (call) => valueReply(state(call.server.engine, call.args[1]!)),
};

const mget: CommandSpec = {
  name: 'mget',
  arity: -2,
  kind: 'read',
  run: (call) => array(call.args.slice(1).map((k) => valueReply(state(call.server.engine, k)))),
};

const exists: CommandSpec = {
  name: 'exists',
  arity: -2,
  kind: 'read',
  run: (call) => int(call.args.slice(1).filter((k) => state(call.server.engine, k) !== undefined).length),
};

function ttlReply(call: CommandCall, unitMs: number): Reply {
  const s = state(call.server.engine, call.args[1]!);
  if (s === undefined) return int(-2);
  const at = effectiveExpiryMs(s);
  if (at === Infinity) return int(-1);
  const leftMs = Math.max(0, at - call.server.engine.clock.now());
  return int(unitMs === 1 ? leftMs : Math.floor((leftMs + 500) / 1000)); // redis-server rounds TTL so
}

const ttl: CommandSpec = { name: 'ttl', arity: 2, kind: 'read', run: (call) => ttlReply(call, 1000) };
const pttl: CommandSpec = { name: 'pttl', arity: 2, kind: 'read', run: (call) => ttlReply(call, 1) };

const dbsize: CommandSpec = { name: 'dbsize', arity: 1, kind: 'read', run: (call) => int(call.server.engine.count()) };

const type: CommandSpec = {
  name: 'type',
  arity: 2,
  kind: 'read',
  run: (call) => ({ t: 'simple', s: state(call.server.engine, call.args[1]!) === undefined ? 'none' : 'string' }),
};

async function del(call: CommandCall): Promise<Reply> {
  const { engine } = call.server;
  const done = await Promise.all(call.args.slice(1).map((k) => engine.destroy(idOfKey(k))));
  return int(done.filter(Boolean).length);
}

const delSpec: CommandSpec = { name: 'del', arity: -2, kind: 'write', run: del };
const unlink: CommandSpec = { name: 'unlink', arity: -2, kind: 'write', run: del };

/**
 * EXPIRE/PEXPIRE key n [NX|XX|GT|LT] (Redis 7). Without a condition: a blind TOUCH record,
 * issued at once like SET. With one: it reads the expiry first, one at a time per key (the
 * engine's per-session queue). A time at or before now expires the key at once, as
 * redis-server deletes it.
 */
function expireSpec(name: string, unitMs: number): CommandSpec {
  return {
    name,
    arity: -3,
    kind: (args) => (args.length > 3 ? 'read-write' : 'write'),
    run(call) {
      // redis-server's order: the option words, then the number, then the key.
      const flags = parseExpireFlags(call.args.slice(3));
      if (typeof flags === 'string') return error(flags);
      const { engine } = call.server;
      const at = expireAt(call.args[2]!, unitMs, engine.clock.now(), name);
      if (typeof at === 'string') return error(at);
      const id = idOfKey(call.args[1]!);
      const touch = (): Promise<Reply> => fastExpire(engine, id, at);
      if (!flags.nx && !flags.xx && !flags.gt && !flags.lt) return touch();
      return engine.withSession(id, () => {
        const s = engine.get(id);
        if (s === undefined || !expireAllowed(flags, effectiveExpiryMs(s), at)) return ZERO;
        return touch();
      });
    },
  };
}

const persist: CommandSpec = {
  name: 'persist',
  arity: 2,
  kind: 'read-write',
  run(call) {
    const { engine } = call.server;
    const id = idOfKey(call.args[1]!);
    return engine.withSession(id, async () => {
      const s = engine.get(id);
      if (s === undefined || s.expiresAtMs === 0) return ZERO;
      return (await engine.touch(id, { expiresAtMs: 0 })) === undefined ? ZERO : ONE;
    });
  },
};

const getex: CommandSpec = {
  name: 'getex',
  arity: -2,
  kind: (args) => (args.length > 2 ? 'read-write' : 'read'),
  run(call) {
    const { engine } = call.server;
    // redis-server's order: the option words, then the key (a missing key is nil), then the number.
    const parsed = parseGetexArgs(call.args.slice(2));
    if (typeof parsed === 'string') return error(parsed);
    const id = idOfKey(call.args[1]!);
    if (call.args.length === 2) return valueReply(engine.get(id));
    return engine.withSession(id, async () => {
      const s = engine.get(id);
      if (s === undefined) return NULL;
      const expiry = parsed.resolve(engine.clock.now());
      if (typeof expiry === 'string') return error(expiry);
      // A past EXAT/PXAT expires the key at once; the value is still the reply.
      if (expiry.kind !== 'keep') await engine.touch(id, { expiresAtMs: expiry.kind === 'at' ? expiry.atMs : 0 });
      return bulk(valueText(s) ?? valueOf(s));
    });
  },
};

export const KEY_COMMANDS: readonly CommandSpec[] = [set, get, mget, exists, ttl, pttl, dbsize, type, delSpec, unlink, expireSpec('expire', 1000), expireSpec('pexpire', 1), persist, getex];

/** An engine error as a Redis error reply: the first word is the kind, as clients expect. */
export function engineErrorReply(e: unknown): Reply {
  // A DEL won the race against a conditional SET: the late write is not stored (see refusedByTombstone).
  if (isSessiondError(e, 'SESSIOND_SESSION_DESTROYED')) return NULL;
  if (isSessiondError(e, 'SESSIOND_READ_ONLY')) return error(`READONLY ${e.message}`);
  if (isSessiondError(e)) return error(`ERR ${e.code} ${e.message}`);
  throw e;
}
