import type { SessionEngine } from '../engine/session-engine.js';
import { EngineHandle, type EngineSource, type Release } from './engine-handle.js';

/**
 * sessiond for koa-session (SPEC A3): `app.use(session({ store: sessiondKoaStore({ dir }) }, app))`.
 *
 * koa-session keeps its expiry check inside the session (`_expire`, rewritten on every save
 * with rolling or renew). Stored as an attribute it would make every such save rewrite it,
 * so it travels as the engine's expiresAtMs (a small TOUCH when only it moves) and is put
 * back on load. koa-session's maxAge is honoured: a number is an absolute expiry, 'session'
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
  /** Releases every handle and timer; closes the engine only if this store opened it. */
  close(): Promise<void>;
}

async function expiryOf(handle: EngineHandle, expire: unknown, maxAge: KoaMaxAge): Promise<number | undefined> {
  if (typeof expire === 'number' && Number.isSafeInteger(expire) && expire >= 0) return expire;
  if (typeof maxAge === 'number') return (await handle.ready()).clock.now() + maxAge;
  return undefined; // 'session': no absolute expiry
}

export function sessiondKoaStore(options: SessiondKoaStoreOptions): SessiondKoaStore {
  const handle = new EngineHandle(options);
  // koa-session wraps these in zod functions and calls them detached: closures, not methods.
  return {
    async get(key) {
      const s = await handle.load(key);
      if (s === undefined) return undefined;
      if (s.expiresAtMs !== undefined && '_maxAge' in s.data) s.data._expire = s.expiresAtMs;
      return s.data;
    },
    async set(key, sess, maxAge) {
      const { _expire, ...data } = sess;
      await handle.save(key, data, await expiryOf(handle, _expire, maxAge));
    },
    async destroy(key) {
      await handle.destroy(key);
    },
    generateId: () => handle.generateId(),
    lock: (id) => handle.lock(id),
    engine: () => handle.ready(),
    close: () => handle.close(),
  };
}
