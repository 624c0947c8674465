import { performance } from 'node:perf_hooks';
import { SessionEngine, type SaveInput, type TouchInput } from '../engine/session-engine.js';
import type { Release } from '../engine/session-queue.js';
import { SessiondError } from '../errors.js';
import { resolveOptions, type EngineOptions, type EngineOptionsInput } from '../options.js';
import { makeState, type SessionState } from '../session/session-state.js';
import type { Clock } from '../clock.js';
import type { GlobalStore } from './global-store.js';
import { resolveGlobalOptions, type GlobalOptions, type GlobalOptionsInput } from './global-options.js';
import { Ownership, type OwnershipStats } from './ownership.js';
import { openGlobalStore } from './open-global-store.js';
import { KeyedChain } from './keyed-chain.js';
import { PendingJournal } from './pending-journal.js';
import { WriteBack, drainLeftovers, type WriteBackStats } from './write-back.js';
import type { Known } from './known-record.js';
import { pruner } from './polling.js';
import { heldRead, readRecord } from './local-copy.js';
import { CopyOverlay } from './copy-overlay.js';
import { lock, withTurn, type EngineScope } from './request-turn.js';
import { getNow, lockNow, touchNow } from './now-paths.js';
import { destroyHeld, save, touch } from './session-changes.js';
import { destroyAllOf, sessionsOf, type PrincipalScope } from './principal-ops.js';

/**
 * The local engine composed with a global store (SPEC G1, G3, G4; docs/failover.md). In
 * `through` mode a change is acknowledged once durable in the local log AND committed to
 * the global store with a fenced statement, so any server can serve any request. In `back`
 * mode (write-back.ts) the server keeps the turn of the sessions it serves, acknowledges
 * once durable locally, and writes back within writeBackMs; it hands a session over when
 * another server asks, and serves what it holds through an outage of the global store.
 *
 * A request flows: lock(id) → the local turn (SessionEngine queue) → the session's turn
 * across servers (a lease on its global record, which also makes this server the owner)
 * → the local copy brought up to the global version when another server changed it →
 * get/save/touch/destroy, each written locally then globally with the fence → release.
 * The local engine is the first tier and a cache of what this server has seen; the
 * global record is the truth every request is checked against. This class holds the
 * state and the lifecycle; the request path is in request-turn.ts (the turn),
 * session-changes.ts (save, touch, destroy) and now-paths.ts (back mode's no-promise paths).
 */

export type GlobalEngineOptionsInput = EngineOptionsInput & { global: GlobalOptionsInput };

/** `stats().global`: the mode, this server's lease and the write-back's counters. */
export type GlobalStats = { mode: GlobalOptions['mode'] } & OwnershipStats & WriteBackStats;

/** Most records `all()` and `ids()` return. */
const LIST_MAX = 100_000;

export class GlobalSessionEngine {
  readonly options: EngineOptions;
  readonly clock: Clock;
  private readonly known = new Map<string, Known>();
  /** Turns this server holds, by session: the count of local holders (at most one with the local queue). */
  private readonly held = new Map<string, number>();
  /**
   * Sessions whose turn across servers the current request gave back with its write (one
   * statement instead of two); a further change in the same request takes it again first.
   */
  private readonly given = new Set<string>();
  /**
   * Sessions whose turn this server holds and found no global record: a save creates one.
   * Any other session without a known version (forgotten when the lease was lost
   * mid-request) takes its turn again before it is written, so a late save can never
   * re-create a record another server destroyed meanwhile.
   */
  private readonly absent = new Set<string>();
  /**
   * Sessions a request was holding when this server found its lease lost: what that request
   * read came from a turn that is gone (another server may have changed the session since),
   * so its saves and touches are refused rather than applied on a turn taken again.
   * Cleared when the request gives the turn back.
   */
  private readonly stale = new Set<string>();
  /** Through mode: monotonic ms at which the statement taking each held turn was sent. */
  private readonly turnFrom = new Map<string, number>();
  /** The global statements of one session, in the order this server issues them. */
  private readonly chain = new KeyedChain();
  /** Through mode: the copies newer than the local engine's, in memory (copy-overlay.ts). */
  private readonly overlay: CopyOverlay;
  private closing: Promise<void> | undefined;
  private readonly pruneTimer: NodeJS.Timeout;

  /** Back mode's write-back and hand-over (also, briefly, a through-mode server draining what a back-mode run left). */
  private wb: WriteBack | undefined;
  /** What request-turn.ts, now-paths.ts, session-changes.ts, local-copy.ts, take-turn.ts and record-writes.ts share of this engine's state. */
  private readonly scope: EngineScope;
  /** What principal-ops.ts needs of it. */
  private readonly principals: PrincipalScope;

  private constructor(
    readonly local: SessionEngine,
    readonly global: GlobalOptions,
    private readonly store: GlobalStore,
    private readonly ownership: Ownership,
    journal: PendingJournal,
  ) {
    this.options = local.options;
    if (global.mode === 'back' || journal.count > 0) {
      this.wb = new WriteBack(local, store, ownership, global, journal, this.known, this.chain, local.options.logger);
    }
    this.clock = local.clock;
    this.overlay = new CopyOverlay(local);
    this.scope = { local, overlay: this.overlay, store, ownership, global, known: this.known, held: this.held, absent: this.absent, stale: this.stale, given: this.given, turnFrom: this.turnFrom, chain: this.chain, wb: () => this.wb, view: (s) => this.view(s) };
    this.principals = {
      local,
      store,
      lease: () => ownership.lease,
      kept: () => this.wb?.kept,
      view: (s) => this.view(s),
      destroyIfOf: (id, principal) => withTurn(this.scope, id, () => (this.overlay.get(id)?.principal === principal ? destroyHeld(this.scope, id) : Promise.resolve(false))),
      forget: async (id) => {
        this.known.delete(id);
        this.overlay.drop(id);
        if (local.get(id) !== undefined) await local.destroy(id);
      },
    };
    // What it knew of sessions the local tier no longer holds is forgotten, a bounded number per tick.
    const prune = pruner(this.known, (id) => !this.held.has(id) && this.overlay.get(id) === undefined, local.options.expiryScanMax);
    // And the in-memory copies of sessions expired, or whose version it forgot. The version
    // goes with the copy: the local engine's older copy must never pass for that version.
    const pruneCopies = pruner(this.overlay.entries(), (id) => this.copyForgotten(id), local.options.expiryScanMax);
    this.pruneTimer = setInterval(() => {
      prune();
      pruneCopies();
    }, local.options.expiryIntervalMs).unref();
  }

  /** The pruner's test for a copy in memory (forgetting the version it mirrors with it): not held, and expired or of a forgotten version. */
  private copyForgotten(id: string): boolean {
    if (this.held.has(id) || (this.known.has(id) && this.overlay.get(id) !== undefined)) return false;
    this.known.delete(id);
    return true;
  }

  /** Opens the local engine (recovering it), migrates the global store, and registers this server. */
  static async open(input: GlobalEngineOptionsInput): Promise<GlobalSessionEngine> {
    const { global: globalInput, ...engineInput } = input;
    const options = resolveOptions(engineInput);
    // The global tier reads its local copies synchronously (engine.get): they must stay loaded.
    if (options.cacheBytesMax > 0) throw new SessiondError('SESSIOND_INVALID_OPTION', 'cacheBytesMax: not supported with global (the local tier keeps every session loaded)', { option: 'cacheBytesMax' });
    const g = resolveGlobalOptions(globalInput, options.dir);
    const store = await openGlobalStore(g, options.sessionTtlMs);
    return GlobalSessionEngine.compose(engineInput, g, store).catch(async (e: unknown) => {
      await store.close().catch(() => undefined);
      throw e;
    });
  }

  /**
   * Composes a local engine with any GlobalStore (the contract; tests pass their own store,
   * and may pass the monotonic clock this server's lease window is measured on).
   */
  static async compose(engineInput: EngineOptionsInput, g: GlobalOptions, store: GlobalStore, monotonicNow: () => number = () => performance.now()): Promise<GlobalSessionEngine> {
    await store.migrate();
    const local = await SessionEngine.open(engineInput);
    let journal: PendingJournal | undefined;
    try {
      journal = await PendingJournal.open(local.options.fs, local.options.dir, () => performance.now());
      if (g.mode === 'through' && journal.count === 0) await journal.close();
      const self: { engine?: GlobalSessionEngine } = {};
      const ownership = await Ownership.start(store, g, local.options.logger, () => self.engine?.forgetAll(), monotonicNow);
      self.engine = new GlobalSessionEngine(local, g, store, ownership, journal);
      if (g.mode === 'through') await self.engine.drainBackLeftovers();
      return self.engine;
    } catch (e) {
      await journal?.close().catch(() => undefined);
      await local.close().catch(() => undefined);
      throw e;
    }
  }

  /** A through-mode server writes back what a back-mode run of it left pending before it serves. */
  private async drainBackLeftovers(): Promise<void> {
    if (this.wb !== undefined) await drainLeftovers(this.wb);
    this.wb = undefined;
  }

  /** The lease was lost: nothing this server knew of any session can be trusted now. */
  private forgetAll(): void {
    for (const id of this.held.keys()) this.stale.add(id);
    this.known.clear();
    this.overlay.clear();
    this.absent.clear();
    this.wb?.forget();
  }

  generateId(): string {
    return this.local.generateId();
  }

  /**
   * Waits for the session's turn on this server, then across servers (request-turn.ts).
   * Rejects with SESSIOND_QUEUE_TIMEOUT when another server holds it for longer than queueWaitMsMax.
   */
  lock(id: string): Promise<Release> {
    return lock(this.scope, id);
  }

  /** Back mode, every request of a session this server keeps: the turn at once, with no promise (now-paths.ts); undefined: lock() then. */
  lockNow(id: string): Release | undefined {
    return lockNow(this.scope, id);
  }

  /**
   * The session as the global store has it now. With the turn held, the local copy (synced
   * when the turn was taken); without it, one read of the global record.
   */
  get(id: string): Promise<SessionState | undefined> {
    // Not an async function: a held read is every request's, and returns heldRead's promise as it is.
    if (this.held.has(id)) return heldRead(this.scope, id);
    // Back mode: the holder's copy may be newer than the record, so a read takes the session too.
    if (this.wb !== undefined) return withTurn(this.scope, id, () => Promise.resolve(this.view(this.local.get(id))));
    return readRecord(this.scope, id);
  }

  /**
   * get() answered at once, with no promise: the turn held here and provably lasting (either
   * mode, now-paths.ts). `{ state }`, or undefined: get() then. Throws where get() rejects.
   */
  getNow(id: string): { state: SessionState | undefined } | undefined {
    return getNow(this.scope, id);
  }

  /** A local state shown with its global identity (creation time kept across inheritance, global version, owner). */
  private view(s: SessionState | undefined): SessionState | undefined {
    if (s === undefined) return undefined;
    const k = this.known.get(s.id);
    if (k === undefined) return s;
    return makeState(s.id, k.version, s.lsn, k.createdAtMs, s.lastAccessAtMs, s.expiresAtMs, s.maxInactiveMs, this.global.serverId, s.attrs, s.principal);
  }

  save(id: string, input: SaveInput): Promise<SessionState> {
    return save(this.scope, id, input);
  }

  touch(id: string, input: TouchInput = {}): Promise<SessionState | undefined> {
    return touch(this.scope, id, input);
  }

  /**
   * touch() done at once when it changes nothing (back mode, now-paths.ts). `{ state }`, or
   * undefined when touch() has work to do (or an error to report).
   */
  touchNow(id: string, input: TouchInput = {}): { state: SessionState | undefined } | undefined {
    return touchNow(this.scope, id, input);
  }

  destroy(id: string): Promise<boolean> {
    return withTurn(this.scope, id, () => destroyHeld(this.scope, id));
  }

  /** The live sessions of a principal on every server (docs/failover.md §Sessions of a principal; every server must use the same `principal` option). */
  sessionsOf(principal: string): Promise<SessionState[]> {
    return sessionsOf(this.principals, principal);
  }

  /** Destroys every session of a principal on every server but `except`, each with a global tombstone (a racing save cannot bring one back); resolves how many. */
  destroyAllOf(principal: string, options: { except?: string | readonly string[] } = {}): Promise<number> {
    return destroyAllOf(this.principals, principal, options);
  }

  async all(): Promise<SessionState[]> {
    const recs = await this.store.list(LIST_MAX);
    return recs.map((r) => makeState(r.id, r.version, 0, r.createdAtMs, r.lastAccessAtMs, r.expiresAtMs, r.maxInactiveMs, r.owner, r.attrs));
  }

  async ids(): Promise<string[]> {
    return (await this.store.list(LIST_MAX)).map((r) => r.id);
  }

  count(): Promise<number> {
    return this.store.count();
  }

  /** Removes every session of the app, on every server (admin; not fenced). */
  async clear(): Promise<number> {
    const n = await this.store.clear();
    this.known.clear();
    this.overlay.clear();
    this.wb?.forget(); // pending write-backs of cleared sessions find no record and are dropped
    await this.local.clear();
    return n;
  }

  async stats(): Promise<Awaited<ReturnType<SessionEngine['stats']>> & { global: GlobalStats }> {
    const wb = this.wb?.stats() ?? { writeBackPending: 0, writeBackLagMs: 0, writeBackWritten: 0, writeBackLost: 0, writeBackFailures: 0, handoversGiven: 0, handoversAsked: 0, handoverWokenByRelease: 0, handoverWokenByTimer: 0 };
    return { ...(await this.local.stats()), global: { mode: this.global.mode, ...this.ownership.stats(), ...wb } };
  }

  /** Writes back everything pending now (tests; the write-back runs every writeBackMs). */
  async writeBack(): Promise<void> {
    await this.wb?.flush();
  }

  /** Renews the lease now (tests; the heartbeat does it every heartbeatMs). */
  renewLease(): Promise<void> {
    return this.ownership.renew();
  }

  /** Stops the background jobs, ends the lease (the others may inherit at once), closes both tiers. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.pruneTimer);
      await this.wb?.stop(true); // written back and handed back, so the others take over at once
      await this.chain.idle(); // the last writes still carry the lease
      await this.ownership.stop(this.wb !== undefined && this.wb.pending.count > 0);
      await this.local.close();
      await this.store.close();
    })();
    return this.closing;
  }
}
