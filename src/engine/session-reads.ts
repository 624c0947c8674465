import { SessiondError } from '../errors.js';
import type { Encryption } from '../session/attr-seal.js';
import type { Clock } from '../clock.js';
import { isValidSessionId } from '../session/session-id.js';
import type { SessionState } from '../session/session-state.js';
import type { OperationLatency } from './operation-latency.js';
import type { SessionDatabase } from './session-database.js';
import type { SessionCache } from './session-cache.js';
import type { CacheBound, LoadWait } from './cache-bound.js';
import type { EngineParts } from './engine-parts.js';
import { readAllStates } from './bounded-reads.js';
import { checkId } from './engine-arguments.js';
import { liveIds, liveState, liveStates } from './live-state.js';

/**
 * The engine's reads (SessionEngine's get, read, readAll, ids, all): durable states from the
 * cache, never a pending one. With a cache bound, a session left on disk is refused by the
 * synchronous reads (SESSIOND_SESSION_NOT_LOADED, never "absent") and read back by the others.
 */
export class SessionReads {
  private readonly clock: Clock;
  private readonly cache: SessionCache;
  private readonly db: SessionDatabase;
  private readonly latency: OperationLatency;
  private readonly bound: CacheBound | undefined;
  private readonly encryption: Encryption | undefined;

  constructor(p: EngineParts) {
    this.clock = p.clock;
    this.cache = p.cache;
    this.db = p.db;
    this.latency = p.latency;
    this.bound = p.bound;
    this.encryption = p.options.encryption;
  }

  get(id: string): SessionState | undefined {
    checkId(id);
    const t0 = this.latency.startGet();
    const s = this.cache.durable(id);
    if (s === undefined && this.bound !== undefined) this.checkLoaded(id);
    const out = s === undefined ? undefined : liveState(this.cache, s, this.clock.now());
    if (out !== undefined) this.cache.visible.used(id);
    this.latency.endGet(t0);
    return out;
  }

  async read(id: string): Promise<SessionState | undefined> {
    checkId(id);
    if (!isValidSessionId(id)) return undefined;
    const expiry = this.cache.cold.expiryOf(id);
    if (expiry !== undefined && expiry <= this.clock.now()) return undefined; // expired: no need to load it
    const w = this.bound?.ensure(id);
    if (w !== undefined) await this.waitLoaded(w);
    return this.get(id);
  }

  /** Cold sessions are read back one at a time, not kept loaded. */
  async readAll(): Promise<SessionState[]> {
    if (this.cache.cold.size === 0 || this.bound === undefined) return this.all(false);
    return readAllStates(this.all(true), this.cache.cold, this.db, this.clock.now(), (id) => {
      const s = this.cache.visible.get(id);
      return s === undefined ? undefined : liveState(this.cache, s, this.clock.now());
    }, this.encryption);
  }

  ids(): string[] {
    return liveIds(this.cache, this.clock);
  }

  all(loadedOnly: boolean): SessionState[] {
    return liveStates(this.cache, this.clock, this.bound !== undefined, loadedOnly);
  }

  /** Waits for a cold session's load; resumes in call order (cache-bound.ts). */
  private async waitLoaded(w: LoadWait): Promise<void> {
    try {
      await w.promise;
    } finally {
      w.done();
    }
  }

  /** A cold session (or one being loaded) is not "absent": refuse to answer synchronously. */
  private checkLoaded(id: string): void {
    if (isValidSessionId(id) && this.cache.cold.has(id)) throw new SessiondError('SESSIOND_SESSION_NOT_LOADED');
  }
}
