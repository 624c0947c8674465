import { createRequire } from 'node:module';
import session from 'express-session';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { SessionEngine } from '../engine/session-engine.js';
import type { ServerResponse } from 'node:http';
import { storedFromCookieSession, touchedExpiryMs } from './connect-cookie.js';
import { EngineHandle, callbackDone, callbackLoad, callbackValue, type EngineSource, type LoadedSession, type Release } from './engine-handle.js';
import { RequestTurn, bindTurn, isQueueError, retryAfterOf, turnEnded, type TurnSource } from './request-turn.js';
import { SessiondError, isSessiondError } from '../errors.js';
import { readCookie, sessionIdFromSigned, unsignWithAny, type Unsign } from './session-cookie.js';

/**
 * sessiond for express-session (SPEC A1): `app.use(session({ store: new SessiondStore({ dir }) }))`,
 * plus `sessiondSerialize`, the middleware that runs the requests of one session one after
 * another (SPEC E8). docs/adapters.md has the quick start and the error mapping.
 */

/** `{ dir, ...engine options }` to open a store owned by this adapter, or an open engine to share. */
export type SessiondStoreOptions = EngineSource;

type Data = session.SessionData;
type Cb<T> = (err: unknown, value?: T) => void;

/** Exactly what was stored: a session saved without a cookie comes back without one (express-session then reports it). */
function toExpress(s: LoadedSession): Data {
  return s.data as unknown as Data;
}

/**
 * express-session saves (or touches) at the end of the response, after it has sent the
 * status line and all but the last byte of the body, and ends the response whatever the
 * store answers. So when that save fails, the response is destroyed before its last byte:
 * the client sees a broken response, never a complete success for a change that was not
 * stored. A save the application awaits before answering (headers not sent) is left alone.
 */
function abortStartedResponse(sess: unknown): void {
  const res = (sess as { req?: { res?: ServerResponse } } | null | undefined)?.req?.res;
  if (res !== undefined && res.headersSent && !res.writableFinished && !res.destroyed) res.destroy();
}

/** The request express-session gave the session object (non-enumerable `req`). */
function requestOf(sess: unknown): unknown {
  return (sess as { req?: unknown } | null | undefined)?.req;
}

/**
 * A save of a request whose turn sessiondSerialize already gave back (its client went away
 * mid-handler, or the application saves after its response finished): refused, since the
 * requests that ran since then may have changed the session (docs/adapters.md).
 */
function lateChangeRefused(): SessiondError {
  return new SessiondError('SESSIOND_TURN_ENDED', 'the save was not applied');
}

function abortOnFailure(p: Promise<unknown>, sess: unknown): Promise<unknown> {
  return p.catch((e: unknown) => {
    abortStartedResponse(sess);
    throw e;
  });
}

export class SessiondStore extends session.Store {
  private readonly handle: EngineHandle;

  /** Usable at once: calls made while the engine opens and recovers wait for it. */
  constructor(options: SessiondStoreOptions) {
    super();
    this.handle = new EngineHandle(options, {
      onOpen: () => this.emit('connect'),
      // 'error' without a listener would crash the process; every call reports the error anyway.
      onOpenError: (err) => this.listenerCount('error') > 0 && this.emit('error', err),
    });
  }

  /** `cb(null, session)`, or `cb(null, undefined)` when absent, expired or the ID is malformed (callbackLoad: no promise chain once open). */
  override get(sid: string, cb: Cb<Data | null>): void {
    callbackLoad(this.handle, sid, toExpress, cb);
  }

  /** Writes only the changed attributes; a save after destroy is a silent no-op (tombstone). */
  override set(sid: string, sess: Data, cb?: (err?: unknown) => void): void {
    const p = Promise.resolve().then(() => {
      if (turnEnded(requestOf(sess))) throw lateChangeRefused();
      const { attributes, expiresAtMs } = storedFromCookieSession(sess);
      return this.handle.save(sid, attributes, expiresAtMs);
    });
    callbackDone(abortOnFailure(p, sess), cb);
  }

  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    callbackDone(this.handle.destroy(sid), cb);
  }

  /**
   * Moves the expiry to the cookie's: a small TOUCH record, the attributes are not rewritten.
   * Skipped for a request whose turn was given back already (nobody waits for it, and on a
   * global store it would take the session back from the server that serves it now).
   */
  override touch(sid: string, sess: Data, cb?: (err?: unknown) => void): void {
    // Done at once, with no promise, when it can be (EngineHandle.touchNow); else the same through touch().
    // The callback's nextTick is queued before the one that uncorks the response's socket
    // (express-session writes the body after calling touch), so a read leaves in one write.
    if (!turnEnded(requestOf(sess)) && this.touchNow(sid, sess)) {
      if (cb !== undefined) process.nextTick(cb, null);
      return;
    }
    const p = Promise.resolve().then(() => (turnEnded(requestOf(sess)) ? undefined : this.handle.touch(sid, touchedExpiryMs(sess))));
    callbackDone(abortOnFailure(p, sess), cb);
  }

  /** touch()'s fast path; false (then touch() as before) for a cookie touch() would refuse too. */
  private touchNow(sid: string, sess: Data): boolean {
    let expiresAtMs: number | undefined;
    try {
      expiresAtMs = touchedExpiryMs(sess);
    } catch {
      return false;
    }
    return this.handle.touchNow(sid, expiresAtMs);
  }

  /** Every live session, keyed by ID (as MemoryStore does). */
  override all(cb: Cb<Record<string, Data>>): void {
    const p = this.handle.entries().then((entries) => Object.fromEntries(entries.map(([id, s]) => [id, toExpress(s)])));
    callbackValue(p, cb);
  }

  override length(cb: Cb<number>): void {
    callbackValue(this.handle.count(), cb);
  }

  override clear(cb?: (err?: unknown) => void): void {
    callbackDone(this.handle.clear(), cb);
  }

  ids(cb: Cb<string[]>): void {
    callbackValue(this.handle.ids(), cb);
  }

  /** IDs of the live sessions of a principal (the `principal` option, docs/operations.md). */
  sessionsOf(principal: string): Promise<string[]> {
    return this.handle.sessionsOf(principal);
  }

  /** Logs a principal out everywhere but `except` (e.g. the current session ID); resolves the number destroyed. */
  destroyAllOf(principal: string, options?: { except?: string | readonly string[] }): Promise<number> {
    return this.handle.destroyAllOf(principal, options);
  }

  /** A fresh 144-bit ID; pass as express-session's `genid`. */
  generateId(): string {
    return this.handle.generateId();
  }

  /** Waits for the session's turn (what sessiondSerialize holds per request). */
  lock(id: string): Promise<Release> {
    return this.handle.lock(id);
  }

  /** The turn at once when it is free (no wait), else undefined: what the serialization middleware tries first. */
  lockNow(id: string): Release | undefined {
    return this.handle.lockNow(id);
  }

  /** Seconds to put in Retry-After when a turn is refused. */
  retryAfterS(): number {
    return this.handle.retryAfterS();
  }

  /** The engine, once open and recovered (for stats, or to share with another app). */
  engine(): Promise<SessionEngine> {
    return this.handle.ready();
  }

  /** Releases every handle and timer; closes the engine only if this store opened it. */
  async close(): Promise<void> {
    await this.handle.close();
    this.emit('disconnect');
  }
}

export interface SessiondSerializeOptions {
  /** express-session's `name`: the session cookie. Default 'connect.sid'. */
  name?: string;
  /** express-session's `secret`: verify the cookie's signature; a bad one counts as no session. */
  secret?: string | readonly string[];
}

const requireFromSession = createRequire(createRequire(import.meta.url).resolve('express-session'));
const signature = requireFromSession('cookie-signature') as { unsign(signed: string, secret: string): string | false };

function expressUnsign(secret: string | readonly string[] | undefined): Unsign | undefined {
  if (secret === undefined) return undefined;
  const secrets = typeof secret === 'string' ? [secret] : secret;
  return unsignWithAny(secrets, (v, s) => signature.unsign(v, s));
}

/** The session ID in express-session's cookie (`s:<id>.<signature>`); unsigned cookies are ignored, as express-session does. */
function sessionIdOf(cookieHeader: string | undefined, name: string, unsign: Unsign | undefined): string | undefined {
  const raw = readCookie(cookieHeader, name);
  if (raw === undefined || !raw.startsWith('s:')) return undefined;
  return sessionIdFromSigned(raw.slice(2), unsign);
}

function answerBusy(res: Response, err: Error, retryAfterS: number): void {
  res.status(503).set('Retry-After', String(retryAfterS)).type('text/plain').send(err.message);
}

/**
 * Runs the requests of one session one after another (SPEC E8). Mount it before
 * express-session: it takes the session's turn before the session is loaded and gives it
 * back when the response has finished or the connection closed. Different sessions never
 * wait for each other; past queueLengthMax / queueWaitMsMax the request gets 503 + Retry-After.
 */
export function sessiondSerialize(target: SessiondStore | SessionEngine | TurnSource, opts: SessiondSerializeOptions = {}): RequestHandler {
  const name = opts.name ?? 'connect.sid';
  const unsign = expressUnsign(opts.secret);
  return (req, res, next) => {
    const id = sessionIdOf(req.headers.cookie, name, unsign);
    if (id === undefined) return next();
    const turn = new RequestTurn();
    bindTurn(req, turn);
    const end = (): void => turn.end();
    // `on`, not `once`: end() acts only once anyway, and skips once's wrapper and removal.
    res.on('finish', end);
    res.on('close', end);
    if (turn.holdNow(target, id)) return next(); // the turn was free: no promise, no tick
    turn.acquire(target, id).then(
      (held) => held && next(),
      (err: Error) => (isQueueError(err) ? answerBusy(res, err, retryAfterOf(target)) : next(err)),
    );
  };
}

/**
 * Answers sessiond's errors with their HTTP status (413 session too large, 503 + Retry-After
 * for a full queue or a read-only store) when the response has not started; mount it last.
 */
export function sessiondErrorHandler(): ErrorRequestHandler {
  return (err, _req, res, next) => {
    if (!isSessiondError(err) || res.headersSent) return next(err);
    if (err.status === 503) res.set('Retry-After', '1');
    res.status(err.status).type('text/plain').send(err.message);
  };
}
