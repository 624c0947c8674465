import fastifyCookie from '@fastify/cookie';
import type { FastifyPluginCallback, FastifyReply, FastifyRequest, Session } from 'fastify';
import type { SessionStore } from '@fastify/session';
import type { SessionEngine } from '../engine/session-engine.js';
import { storedFromCookieSession } from './connect-cookie.js';
import { EngineHandle, callbackDone, callbackLoad, type EngineSource, type Release } from './engine-handle.js';
import { RequestTurn, bindTurn, isQueueError, retryAfterOf, turnEnded, type TurnSource } from './request-turn.js';
import { SessiondError } from '../errors.js';
import { readCookie, sessionIdFromSigned, type Unsign } from './session-cookie.js';

/**
 * sessiond for @fastify/session (SPEC A2): `fastify.register(fastifySession, { store: new
 * SessiondFastifyStore({ dir }), secret })`, plus `sessiondFastifySerialize`, the plugin that
 * runs the requests of one session one after another (SPEC E8).
 */

export type SessiondFastifyStoreOptions = EngineSource;

type SessionCb = (err: unknown, session?: Session | null) => void;
type DoneCb = (err?: unknown) => void;

/**
 * The request a @fastify/session Session belongs to: it keeps it under a private symbol
 * ('request'). Undefined when that ever changes (then no late save is recognised).
 */
function requestOf(session: object): unknown {
  const key = Object.getOwnPropertySymbols(session).find((k) => k.description === 'request');
  return key === undefined ? undefined : (session as Record<symbol, unknown>)[key];
}

/** The callback store @fastify/session calls: `cb(null, undefined)` on a miss, `cb(null)` on success. */
export class SessiondFastifyStore implements SessionStore {
  private readonly handle: EngineHandle;

  /** Usable at once: calls made while the engine opens and recovers wait for it. */
  constructor(options: SessiondFastifyStoreOptions) {
    this.handle = new EngineHandle(options);
  }

  get(sessionId: string, cb: SessionCb): void {
    callbackLoad(this.handle, sessionId, (s) => s.data as unknown as Session, cb);
  }

  /** Writes only the changed attributes; a save after destroy is a silent no-op (tombstone). */
  set(sessionId: string, session: object, cb: DoneCb): void {
    const p = Promise.resolve().then(() => {
      // Its client went away mid-handler and the requests queued behind it ran (docs/adapters.md).
      if (turnEnded(requestOf(session))) throw new SessiondError('SESSIOND_TURN_ENDED', 'the save was not applied');
      const { attributes, expiresAtMs } = storedFromCookieSession(session);
      return this.handle.save(sessionId, attributes, expiresAtMs);
    });
    callbackDone(p, cb);
  }

  destroy(sessionId: string, cb: DoneCb): void {
    callbackDone(this.handle.destroy(sessionId), cb);
  }

  /** IDs of the live sessions of a principal (the `principal` option, docs/operations.md). */
  sessionsOf(principal: string): Promise<string[]> {
    return this.handle.sessionsOf(principal);
  }

  /** Logs a principal out everywhere but `except` (e.g. the current session ID); resolves the number destroyed. */
  destroyAllOf(principal: string, options?: { except?: string | readonly string[] }): Promise<number> {
    return this.handle.destroyAllOf(principal, options);
  }

  /** A fresh 144-bit ID; pass as @fastify/session's `idGenerator`. */
  generateId(): string {
    return this.handle.generateId();
  }

  /** Waits for the session's turn (what sessiondFastifySerialize holds per request). */
  lock(id: string): Promise<Release> {
    return this.handle.lock(id);
  }

  /** The turn at once when it is free (no wait), else undefined: what the serialization middleware tries first. */
  lockNow(id: string): Release | undefined {
    return this.handle.lockNow(id);
  }

  retryAfterS(): number {
    return this.handle.retryAfterS();
  }

  /** The engine, once open and recovered. */
  engine(): Promise<SessionEngine> {
    return this.handle.ready();
  }

  /** Releases every handle and timer; closes the engine only if this store opened it. */
  close(): Promise<void> {
    return this.handle.close();
  }
}

export interface SessiondFastifySerializeOptions {
  /** Whose turns to take: the store given to @fastify/session, or the engine behind it. */
  store: SessiondFastifyStore | SessionEngine | TurnSource;
  /** @fastify/session's `cookieName`. Default 'sessionId'. */
  cookieName?: string;
  /** @fastify/session's `cookiePrefix`. */
  cookiePrefix?: string;
  /** @fastify/session's `secret` (or signer): verify the cookie; a bad signature counts as no session. */
  secret?: string | string[] | { unsign(signed: string): { valid: boolean; value: string | null } };
  /** @fastify/session's `algorithm`. Default 'sha256'. */
  algorithm?: string;
}

function fastifyUnsign(secret: SessiondFastifySerializeOptions['secret'], algorithm: string): Unsign | undefined {
  if (secret === undefined) return undefined;
  const signer = typeof secret === 'string' || Array.isArray(secret) ? new fastifyCookie.Signer(secret, algorithm) : secret;
  return (signed) => {
    const r = signer.unsign(signed);
    return r.valid && r.value !== null ? r.value : false;
  };
}

/**
 * Runs the requests of one session one after another (SPEC E8). Register it before
 * @fastify/session: onRequest takes the session's turn before the session is loaded;
 * onResponse, onRequestAbort or onTimeout gives it back, once. Past queueLengthMax /
 * queueWaitMsMax the request gets 503 + Retry-After.
 */
export const sessiondFastifySerialize: FastifyPluginCallback<SessiondFastifySerializeOptions> = (app, opts, done) => {
  const cookieName = opts.cookieName ?? 'sessionId';
  const prefix = opts.cookiePrefix ?? '';
  const unsign = fastifyUnsign(opts.secret, opts.algorithm ?? 'sha256');
  const turns = new WeakMap<FastifyRequest, RequestTurn>();

  function sessionIdOf(request: FastifyRequest): string | undefined {
    const raw = readCookie(request.headers.cookie, cookieName);
    if (raw === undefined || !raw.startsWith(prefix)) return undefined;
    return sessionIdFromSigned(raw.slice(prefix.length), unsign);
  }

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const id = sessionIdOf(request);
    if (id === undefined) return;
    const turn = new RequestTurn();
    turns.set(request, turn);
    bindTurn(request, turn);
    if (turn.holdNow(opts.store, id)) return; // the turn was free: no wait
    try {
      // Aborted while waiting: the turn went straight back; stop here, nobody is listening.
      if (!(await turn.acquire(opts.store, id))) reply.hijack();
    } catch (err) {
      if (!isQueueError(err)) throw err;
      return reply.code(503).header('Retry-After', String(retryAfterOf(opts.store))).type('text/plain').send((err as Error).message);
    }
  });
  const end = async (request: FastifyRequest): Promise<void> => turns.get(request)?.end();
  app.addHook('onResponse', end);
  app.addHook('onRequestAbort', end);
  app.addHook('onTimeout', end);
  done();
};

// Like fastify-plugin: the hooks apply to the whole app, not only to this plugin's own scope.
Object.assign(sessiondFastifySerialize, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'sessiond-serialize',
});
