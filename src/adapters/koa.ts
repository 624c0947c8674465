import type { SessionEngine } from '../engine/session-engine.js';
import { EngineHandle, type EngineSource, type Release } from './engine-handle.js';
import { attributesOf, engineExpiryMs, jsonEntries, msSlotOr, jsonText } from './session-json.js';

/**
 * sessiond for koa-session (SPEC A3): `app.use(session({ store: sessiondKoaStore({ dir }) }, app))`.
 *
 * koa-session keeps its expiry check inside the session (`_expire`, rewritten on every save
 * with rolling or renew). It is the session's expiry, so it travels as the engine's
 * expiresAtMs and the attribute keeps an expiry slot in its place (session-json.ts): a save
 * that moves only it is a small TOUCH, and `get` gives back the object exactly as it was set.
 * Without `_expire`, koa-session's maxAge is honoured: a number is now + maxAge, 'session'
 * (a browser-session cookie) an idle timeout of the engine's sessionTtlMs.
 */

export type SessiondKoaStoreOptions = EngineSource;

/** koa-session's `maxAge` as it reaches an external store. */
export type KoaMaxAge = number | 'session' | undefined;

export interface SessiondKoaStore {
  /** The session, or undefined when absent, expired or the key is malformed. */
  get(key: string, maxAge?: KoaMaxAge, opts?: unknown): Promise<Record<string, unknown> | undefined>;
  /** Writes only the changed attributes; a save after destroy is a silent no-op (tombstone). */
  set(key: string, sess: Record<string, unknown>, maxAge?: KoaMaxAge, opts?: unknown): Promise<void>;
  destroy(key: string, opts?: unknown): Promise<void>;
  /** A fresh 144-bit ID; pass as koa-session's `genid`. */
  generateId(): string;
  lock(id: string): Promise<Release>;
  engine(): Promise<SessionEngine>;
  /** IDs of the live sessions of a principal (the `principal` option, docs/operations.md). */
  sessionsOf(principal: string): Promise<string[]>;
  /** Logs a principal out everywhere but `except`; resolves the number destroyed. */
  destroyAllOf(principal: string, options?: { except?: string | readonly string[] }): Promise<number>;
  /** Releases every handle and timer; closes the engine only if this store opened it. */
  close(): Promise<void>;
}

/** `_expire` when it is a whole number of ms (negative: refused), else now + maxAge, else none. */
async function expiryOf(handle: EngineHandle, expire: unknown, maxAge: KoaMaxAge): Promise<number | undefined> {
  if (typeof expire === 'number' && Number.isSafeInteger(expire)) return engineExpiryMs(expire, '_expire');
  if (typeof maxAge === 'number') return engineExpiryMs((await handle.ready()).clock.now() + maxAge, 'maxAge');
  return undefined; // 'session': no absolute expiry
}

export function sessiondKoaStore(options: SessiondKoaStoreOptions): SessiondKoaStore {
  const handle = new EngineHandle(options);
  // koa-session wraps these in zod functions and calls them detached: closures, not methods.
  return {
    // At once, with no chain of promises, when the engine can answer now (EngineHandle.loadNow:
    // the embedded store; back mode, a session this server keeps under a turn held here).
    get(key) {
      try {
        const now = handle.loadNow(key);
        return now === undefined ? handle.load(key).then((s) => s?.data) : Promise.resolve(now.session?.data);
      } catch (e) {
        return Promise.reject(e);
      }
    },
    async set(key, sess, maxAge) {
      const entries = jsonEntries(sess) ?? [];
      const expiresAtMs = await expiryOf(handle, sess._expire, maxAge);
      const attributes = attributesOf(entries, (name, value) => (name === '_expire' ? msSlotOr(name, value, expiresAtMs) : jsonText(name, value)));
      await handle.save(key, attributes, expiresAtMs);
    },
    async destroy(key) {
      await handle.destroy(key);
    },
    generateId: () => handle.generateId(),
    lock: (id) => handle.lock(id),
    engine: () => handle.ready(),
    sessionsOf: (principal) => handle.sessionsOf(principal),
    destroyAllOf: (principal, options) => handle.destroyAllOf(principal, options),
    close: () => handle.close(),
  };
}
