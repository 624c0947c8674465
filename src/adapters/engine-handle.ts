import { SessionEngine } from '../engine/session-engine.js';
import { GlobalSessionEngine, type GlobalEngineOptionsInput } from '../global/global-session-engine.js';
import { resolveGlobalOptions } from '../global/global-options.js';
import { SessiondError, isSessiondError } from '../errors.js';
import { resolveOptions, type EngineOptionsInput } from '../options.js';
import { generateSessionId, invalidSessionIdError, isValidSessionId } from '../session/session-id.js';
import { effectiveExpiryMs, type SessionState } from '../session/session-state.js';
import { retryAfterS } from './request-turn.js';
import { sessionFromAttributes } from './session-json.js';
import { callNow } from '../util/call-now.js';

/**
 * What every adapter shares: one engine, opened lazily from options or wrapped when the
 * application already has one open (several apps can share it), and the session-level
 * operations the three frameworks need, in the engine's terms. The adapters only map
 * their framework's session objects and callbacks onto this.
 */

/** An open engine to share, or the options to open one (the adapter then owns and closes it). */
export type EngineSource = SessionEngine | { engine: SessionEngine } | EngineOptionsInput | GlobalSessionEngine | GlobalEngineOptionsInput;

/** The local engine, or the local engine composed with a global store (`global:` options, docs/failover.md). */
type Backend = SessionEngine | GlobalSessionEngine;

/** A session read back: its attributes as one plain object, and when it stops existing. */
export interface LoadedSession {
  /** Exactly the object stored, expiry slots filled (session-json.ts). */
  data: Record<string, unknown>;
  /** Absolute ms since the epoch; undefined when the session only has an idle timeout. */
  expiresAtMs: number | undefined;
}

export type Release = () => void;

export interface EngineHandleHooks {
  /** The engine is open (after recovery); express-session listens for 'connect'. */
  onOpen?(): void;
  /** Opening failed; every call made on the handle rejects with the same error. */
  onOpenError?(err: unknown): void;
}

function isEngine(x: unknown): x is Backend {
  return x instanceof SessionEngine || x instanceof GlobalSessionEngine;
}

export class EngineHandle {
  private engine: Backend | undefined;
  private readonly opening: Promise<Backend>;
  /** True when this handle opened the engine, so close() closes it. */
  private readonly owned: boolean;
  private closing: Promise<void> | undefined;

  constructor(source: EngineSource, hooks: EngineHandleHooks = {}) {
    const given = isEngine(source) ? source : 'engine' in source && isEngine(source.engine) ? source.engine : undefined;
    this.owned = given === undefined;
    if (given !== undefined) {
      this.engine = given;
      this.opening = Promise.resolve(given);
    } else {
      const { global, ...input } = source as GlobalEngineOptionsInput;
      resolveOptions(input); // unknown or bad options throw here, at construction, with their name
      if (global !== undefined) resolveGlobalOptions(global, input.dir);
      this.opening = global !== undefined ? GlobalSessionEngine.open({ ...input, global }) : SessionEngine.open(input);
    }
    this.opening.then(
      (engine) => {
        this.engine = engine;
        hooks.onOpen?.();
      },
      (err: unknown) => hooks.onOpenError?.(err),
    );
  }

  /** The engine once open and recovered (with `global:`, its local tier); calls made before wait here. */
  async ready(): Promise<SessionEngine> {
    const b = await this.backend();
    return b instanceof GlobalSessionEngine ? b.local : b;
  }

  private backend(): Promise<Backend> {
    if (this.closing !== undefined) return Promise.reject(new SessiondError('SESSIOND_CLOSED'));
    return this.engine !== undefined ? Promise.resolve(this.engine) : this.opening;
  }

  generateId(): string {
    return generateSessionId();
  }

  /**
   * The session, or undefined when absent, expired, or the ID is malformed. Rejects only
   * with SESSIOND_SESSION_NOT_JSON (attributes saved through the engine API in another form).
   */
  async load(id: unknown): Promise<LoadedSession | undefined> {
    if (!isValidSessionId(id)) return undefined;
    const b = await this.backend();
    // read(): with cacheBytesMax a session may be on disk only, and must be waited for, never "absent".
    const state = b instanceof SessionEngine ? await b.read(id) : await b.get(id);
    return state === undefined ? undefined : loaded(state);
  }

  /**
   * The session read at once, with no promise and no await, when the local engine is open:
   * `{ session }` (undefined when absent, expired or the ID is malformed). Undefined when
   * the answer needs a wait (still opening, closing, or a global store): use load() then.
   * Throws SESSIOND_SESSION_NOT_JSON where load() rejects with it. Undefined as well for a
   * session the cache bound left on disk (it needs a read).
   */
  loadNow(id: unknown): { session: LoadedSession | undefined } | undefined {
    const engine = this.engine;
    if (this.closing !== undefined || engine === undefined) return undefined;
    if (!isValidSessionId(id)) return { session: undefined };
    let state: SessionState | undefined;
    if (engine instanceof GlobalSessionEngine) {
      // The turn held and provably lasting (GlobalSessionEngine.getNow); else load().
      const now = engine.getNow(id);
      if (now === undefined) return undefined;
      state = now.state;
    } else {
      try {
        state = engine.get(id);
      } catch (e) {
        // cacheBytesMax: a session on disk is read back by load() (engine.read), never "absent".
        if (isSessiondError(e, 'SESSIOND_SESSION_NOT_LOADED')) return undefined;
        throw e;
      }
    }
    return { session: state === undefined ? undefined : loaded(state) };
  }

  /**
   * Creates or replaces a session from its attributes (JSON text, session-json.ts).
   * The engine writes only the attributes that changed, or a TOUCH when only the expiry did.
   * `expiresAtMs` undefined: no absolute expiry, the engine's sessionTtlMs as an idle timeout.
   * A save of a destroyed session is a silent no-op: a request still in flight at logout
   * must not bring the session back, and must not fail either.
   */
  async save(id: string, attributes: Readonly<Record<string, string>>, expiresAtMs: number | undefined): Promise<void> {
    if (!isValidSessionId(id)) throw invalidSessionIdError();
    const engine = await this.backend();
    try {
      await engine.save(id, { attributes, ...expiry(engine, expiresAtMs) });
    } catch (e) {
      if (!isSessiondError(e, 'SESSIOND_SESSION_DESTROYED')) throw e;
    }
  }

  /**
   * Records an access and moves the expiry; absent sessions and malformed IDs are ignored.
   * Answered once the TOUCH record is appended, not once it is durable (with a through-mode
   * global store, once the global store has it, below): express-session
   * touches on every request that did not change the session, and a read must not wait for
   * the disk. The record goes out with the next group commit, and on the local engine asks
   * for no fdatasync of its own (lazy): it is synced with the next change that waits for
   * one, or within fsyncIntervalMs, so read-only traffic costs writes, not fdatasyncs. A
   * crash of the process loses none of them; a power loss can lose the latest expiry
   * extensions, never an attribute. Appending is synchronous, so the session's next
   * change still follows it in the log.
   */
  touch(id: unknown, expiresAtMs: number | undefined): Promise<void> {
    if (!isValidSessionId(id)) return Promise.resolve();
    // Not an async function once open: every read-only request of a through-mode server waits for this one.
    const engine = this.engine;
    if (this.closing === undefined && engine !== undefined) return callNow(() => touchOn(engine, id, expiresAtMs));
    return this.backend().then((b) => touchOn(b, id, expiresAtMs));
  }

  /**
   * touch() done at once, with no promise, when the engine is open: true once the local
   * engine's lazy TOUCH is appended (what touch() answers on), or once a back-mode touch that
   * moves nothing was skipped (GlobalSessionEngine.touchNow); false when touch() must run
   * (opening, closing, through mode, a back-mode touch with work to do, or an error for
   * touch() to report).
   */
  touchNow(id: unknown, expiresAtMs: number | undefined): boolean {
    const engine = this.engine;
    if (this.closing !== undefined || engine === undefined || !isValidSessionId(id)) return false;
    const input = expiresAtMs === undefined ? {} : { expiresAtMs };
    try {
      if (engine instanceof GlobalSessionEngine) return engine.touchNow(id, input) !== undefined;
      engine.touch(id, input, true).catch((e: unknown) => touchNotLogged(engine, e));
      return true;
    } catch {
      return false;
    }
  }

  /** Deletes the session and leaves a tombstone; malformed IDs are ignored. */
  async destroy(id: unknown): Promise<void> {
    if (!isValidSessionId(id)) return;
    await (await this.backend()).destroy(id);
  }

  /**
   * IDs of the live sessions of a principal (the engine's `principal` option, SPEC B5),
   * sessions the cache bound left on disk included, without loading them (engine.idsOf).
   * With `global:`, the sessions of every server (GlobalSessionEngine.sessionsOf).
   */
  async sessionsOf(principal: string): Promise<string[]> {
    const b = await this.backend();
    return b instanceof GlobalSessionEngine ? (await b.sessionsOf(principal)).map((s) => s.id) : b.idsOf(principal);
  }

  /** Logs a principal out everywhere (but `except`): the engine's destroyAllOf (with `global:`, on every server). */
  async destroyAllOf(principal: string, options: { except?: string | readonly string[] } = {}): Promise<number> {
    return (await this.backend()).destroyAllOf(principal, options);
  }

  async entries(): Promise<Array<[string, LoadedSession]>> {
    const b = await this.backend();
    return (b instanceof SessionEngine ? await b.readAll() : await b.all()).map((s) => [s.id, loaded(s)]);
  }

  async ids(): Promise<string[]> {
    return (await this.backend()).ids();
  }

  async count(): Promise<number> {
    return (await this.backend()).count();
  }

  async clear(): Promise<number> {
    return (await this.backend()).clear();
  }

  /** Waits for the session's turn (SPEC E8); rejects with SESSIOND_QUEUE_FULL / _TIMEOUT past the bounds. */
  lock(id: string): Promise<Release> {
    // Not an async function once open: every request of a through-mode server takes its turn here.
    const engine = this.engine;
    if (this.closing === undefined && engine !== undefined) return callNow(() => engine.lock(id));
    return this.backend().then((b) => b.lock(id));
  }

  /**
   * The session's turn at once, with no promise, when the engine is open and nobody holds
   * the turn (with a global store: back mode, a session this server keeps, its lease
   * lasting); undefined otherwise (still opening, closing, a turn held, a turn across
   * servers to take): lock() then.
   */
  lockNow(id: string): Release | undefined {
    return this.closing === undefined ? this.engine?.lockNow(id) : undefined;
  }

  /** Seconds a client refused a turn should wait. */
  retryAfterS(): number {
    return retryAfterS(this.engine?.options.queueWaitMsMax);
  }

  /** Stops accepting calls; closes the engine only if this handle opened it. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.owned ? this.opening.then((e) => e.close(), () => undefined) : Promise.resolve();
    return this.closing;
  }
}

/** touch() on the open engine. */
function touchOn(engine: Backend, id: string, expiresAtMs: number | undefined): Promise<void> {
  const input = expiresAtMs === undefined ? {} : { expiresAtMs };
  const touched = engine instanceof SessionEngine ? engine.touch(id, input, true) : engine.touch(id, input);
  const done = touched.then(noValue, (e: unknown) => touchNotLogged(engine, e));
  // Through mode: the touch gives the session's turn across servers back (no local fsync is
  // waited for). Answering after it means the client's next request, on any server, finds
  // the turn free instead of polling for it.
  return engine instanceof GlobalSessionEngine && engine.global.mode === 'through' ? done : Promise.resolve();
}

function noValue(): void {}

/** A touch that failed after it was answered: the store is read-only or closing, and the next write reports it to its caller. */
function touchNotLogged(engine: Backend, e: unknown): void {
  engine.options.logger.warn('touch_not_logged', { code: isSessiondError(e) ? e.code : 'unknown' });
}

/** The record field is a u32. */
const MAX_INACTIVE_MS_MAX = 0xffff_ffff;

function loaded(state: SessionState): LoadedSession {
  const until = effectiveExpiryMs(state);
  const expiresAtMs = Number.isFinite(until) ? until : undefined;
  return { data: sessionFromAttributes(state.attrs, expiresAtMs), expiresAtMs };
}

/**
 * A cookie with an expiry maps to an absolute expiry. A browser-session cookie has none:
 * the session then lives while it is used (sessionTtlMs of inactivity), not a fixed time
 * after its creation.
 */
function expiry(engine: Backend, expiresAtMs: number | undefined): { expiresAtMs: number; maxInactiveMs: number } {
  if (expiresAtMs !== undefined) return { expiresAtMs, maxInactiveMs: 0 };
  return { expiresAtMs: 0, maxInactiveMs: Math.min(engine.options.sessionTtlMs, MAX_INACTIVE_MS_MAX) };
}

/**
 * Node-style callbacks from promises: `cb(null, value)` / `cb(null)` / `cb(err)`. The callback
 * runs on its own tick, outside the promise chain, so a throw in it is not swallowed.
 */
export function callbackValue<T>(p: Promise<T | undefined>, cb: (err: unknown, value?: T) => void): void {
  p.then(
    (v) => process.nextTick(cb, null, v),
    (e: unknown) => process.nextTick(cb, e),
  );
}

/**
 * A read for a callback store: once the local engine is open the session is read at once
 * and `cb` runs on the next tick, with no promise chain in between (reads are most of a
 * framework's traffic); before that, and for a global store, through load().
 */
export function callbackLoad<T>(handle: EngineHandle, id: unknown, map: (s: LoadedSession) => T, cb: (err: unknown, value?: T) => void): void {
  let now: ReturnType<EngineHandle['loadNow']>;
  try {
    now = handle.loadNow(id);
  } catch (e) {
    process.nextTick(cb, e);
    return;
  }
  if (now === undefined) callbackValue(handle.load(id).then((s) => (s === undefined ? undefined : map(s))), cb);
  else process.nextTick(cb, null, now.session === undefined ? undefined : map(now.session));
}

export function callbackDone(p: Promise<unknown>, cb: ((err?: unknown) => void) | undefined): void {
  p.then(
    () => cb !== undefined && process.nextTick(cb, null),
    (e: unknown) => cb !== undefined && process.nextTick(cb, e),
  );
}
