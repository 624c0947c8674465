/**
 * The global store contract (SPEC G1-G3, docs/failover.md): what a backend that keeps the
 * global session information (PostgreSQL today, Redis next) must do. The composed engine
 * (src/global/global-session-engine.ts) talks only to this interface, and the contract test
 * suite (test/global/global-store-contract.ts) runs against every backend.
 *
 * Every write is fenced in the backend, in the one statement (or script) that makes it:
 * it changes the record only while the writer still owns it (owner server ID and owner
 * epoch), its server lease is live by the backend's clock, and the version is the one
 * the writer read. Anything else changes nothing and says why.
 */

/** The stores' default for how long a destroyed session's global tombstone lasts (the local tier's tombstoneMs default). */
export const GLOBAL_TOMBSTONE_MS = 10 * 60_000;

/** One server's registration: the epoch is unique for ever (a sequence), so a restarted or paused server is told apart from its old self. */
export interface ServerLease {
  readonly serverId: string;
  readonly epoch: number;
}

/** One session's global information (seed 003, table 5-2) plus what the protocol needs. */
export interface GlobalRecord {
  readonly id: string;
  /** The attribute blob (src/session/attributes.ts), stored as bytes. */
  readonly attrs: string;
  /** Kept as is by inheritance. */
  readonly createdAtMs: number;
  readonly lastAccessAtMs: number;
  /** Absolute expiry, ms since the epoch; 0 = none. */
  readonly expiresAtMs: number;
  /** Sliding expiry; 0 = none. */
  readonly maxInactiveMs: number;
  readonly owner: string;
  readonly ownerEpoch: number;
  /** Grows by one with every change of the record's attributes (write, create), ownership moves and touches excluded. */
  readonly version: number;
  /** Whose session it is (the writing server's `principal` option at the last write; '' = none or written before the store kept it). */
  readonly principal: string;
}

/** The fields a write sets (the rest is the record's identity and protocol state). */
export interface GlobalWrite {
  readonly attrs: string;
  readonly createdAtMs: number;
  readonly lastAccessAtMs: number;
  readonly expiresAtMs: number;
  readonly maxInactiveMs: number;
  /** Whose session it is ('' or absent = none): the backend indexes it for `sessionsOf` and `destroyAllOf`. */
  readonly principal?: string;
}

/** What `destroyAllOf` did: the records it turned into tombstones, and those whose turn a live server holds (left to the caller). */
export interface DestroyAllResult {
  readonly destroyed: string[];
  readonly busy: string[];
}

/**
 * A session's turn, taken by a server: the record as it is now. When the caller already has
 * `knownVersion` (attrsOmitted), what belongs to that version may be left out: `attrs` is
 * then '' and, on a backend that leaves them out too (Redis), `principal` is '' and
 * `createdAtMs` and `maxInactiveMs` are 0; the version, the owner and the times a touch moves
 * are always given.
 */
export interface TurnResult {
  readonly record: GlobalRecord | undefined;
  /** The caller's copy is current: the version's own fields were left out (above). */
  readonly attrsOmitted: boolean;
  /** The session was owned by a server whose lease had lapsed (inheritance, SPEC G3). */
  readonly inherited: boolean;
}

/**
 * Why a fenced write changed nothing: the record is gone (destroyed or expired), another
 * server owns it or holds its turn, this server's lease lapsed, or the version moved.
 */
export type WriteOutcome = 'ok' | 'absent' | 'fenced' | 'conflict';

/** One fenced replace of a write-back batch. */
export interface BatchWrite {
  readonly id: string;
  readonly expectedVersion: number;
  readonly w: GlobalWrite;
}

/** What a hand-over subscription delivers (back mode). */
export interface HandoverEvents {
  /** Another server asks this one to write the session back and release it. */
  handover(id: string): void;
  /** The holder of the session's turn released it while a server waited for it. */
  released(id: string): void;
}

export interface HandoverListener {
  /** False once its connection is gone: subscribe again (the polling fallback covers the gap). */
  readonly live: boolean;
  close(): Promise<void>;
}

export interface GlobalStore {
  /** Creates or migrates the schema (idempotent; safe when several servers start at once) and registers the app. */
  migrate(): Promise<void>;

  /** Registers a server with a fresh epoch and a lease of `leaseMs` from the backend's clock. */
  acquireLease(serverId: string, leaseMs: number): Promise<ServerLease>;
  /** Extends the lease; false once it has lapsed or another start of the same server took a newer epoch (then this one is fenced for good). */
  renewLease(lease: ServerLease, leaseMs: number): Promise<boolean>;
  /** Ends the lease now: the server's sessions can be inherited at once. */
  releaseLease(lease: ServerLease): Promise<void>;
  /**
   * Gives the sessions still carrying an older epoch of this server to `lease` (a restart);
   * returns how many. Turns held for good (back mode) stay held. A server with a live lease
   * under any epoch is alive: its older epochs' sessions are never inherited by others.
   */
  adopt(lease: ServerLease): Promise<number>;

  /** The live record, or undefined when absent or expired (by the backend's clock). */
  load(id: string): Promise<GlobalRecord | undefined>;

  /**
   * Takes the session's turn for `turnMs` (a lease on the record, never a transaction held
   * open): succeeds when the turn is free, already this server's, or held by a server whose
   * lease lapsed. Taking it makes this server the owner (keeping the creation time).
   * Returns undefined when another live server holds the turn (retry later), and
   * `{ record: undefined }` when there is no live record. With `hold` (back mode) the turn
   * has no end of its own: it lasts until released or until the holder's lease lapses.
   */
  takeTurn(lease: ServerLease, id: string, turnMs: number, knownVersion: number, hold?: boolean): Promise<TurnResult | undefined>;
  /** Gives the turn back early (fenced: only the holder's release counts); wakes the servers that asked for it. */
  releaseTurn(lease: ServerLease, id: string): Promise<void>;

  /** Back mode: asks the live server holding the session's turn to write it back and release it (no-op when nobody holds it). */
  requestHandover(lease: ServerLease, id: string): Promise<void>;
  /** Back mode: sessions held by `lease` that another server asked for, oldest request first (the fallback when a notification was missed). */
  handoverRequests(lease: ServerLease, limit: number): Promise<string[]>;
  /** Back mode: delivers hand-over requests addressed to `serverId` and released turns, as they happen. */
  subscribe(serverId: string, on: HandoverEvents): Promise<HandoverListener>;
  /** Back mode's write-back: fenced replaces like `write` (the turn is kept), many in one round trip; one outcome per item. */
  writeBatch(lease: ServerLease, items: readonly BatchWrite[]): Promise<WriteOutcome[]>;

  /**
   * Creates the record owned by `lease` at version 1; false when a live record with that ID
   * exists. With `hold`, its turn is held as by `takeTurn(..., hold)`. Throws
   * SESSIOND_SESSION_DESTROYED while the ID's tombstone lasts (see `destroy`).
   */
  create(lease: ServerLease, id: string, w: GlobalWrite, hold?: boolean): Promise<boolean>;
  /** Fenced replace: version `expectedVersion` becomes `expectedVersion + 1`. `releaseTurn` ends the turn in the same statement. */
  write(lease: ServerLease, id: string, expectedVersion: number, w: GlobalWrite, releaseTurn: boolean): Promise<WriteOutcome>;
  /**
   * Puts back what this server acknowledged and the store then lost (a Redis failover to a
   * replica the last writes had not reached; docs/failover.md §Repair), at the version it
   * acknowledged, so that a version never goes back (another server's older copy must see
   * the record as newer, never as lost). With `expectedVersion` 0 the record is absent and is
   * created at `version`, owned by `lease`, its turn held as with `takeTurn(..., hold)` until
   * `releaseTurn` or a `write` that releases it: 'conflict' when a live record with the ID
   * exists, SESSIOND_SESSION_DESTROYED while its tombstone lasts. Otherwise a fenced
   * replace like `write` (the turn kept) that sets `version` (> expectedVersion).
   */
  restore(lease: ServerLease, id: string, expectedVersion: number, version: number, w: GlobalWrite): Promise<WriteOutcome>;
  /**
   * Moves the last access (never back) and the expiry (`expiresAtMs` undefined keeps it),
   * without a new version: attributes are what versions order, and a touch changes none,
   * so every server's copy at this version stays current. Fenced by the owner and its
   * epoch with a live lease, not by the version: once another server took the turn it is
   * the owner and the touch changes nothing ('fenced'), so a touch never undoes a write.
   * Throttled (connect-mongo's touchAfter): the times move only once the last access or the
   * expiry moved by at least `touchAfterMs` (default 0), or half the idle timeout when that
   * is shorter, or the expiry moved earlier; the turn is given back either way.
   */
  touch(lease: ServerLease, id: string, lastAccessAtMs: number, expiresAtMs: number | undefined, releaseTurn: boolean, touchAfterMs?: number): Promise<WriteOutcome>;
  /**
   * Fenced delete. The record becomes a tombstone (attributes cleared, no owner, its destroy
   * time) for the store's `tombstoneMs`: every reader treats it as absent, `create` refuses
   * its ID, and the expiry cleanup removes it after (its row goes back to the blank records
   * where the backend keeps them). 'absent' when there is no record; a backend that acknowledges changes only once
   * replicated (Redis with replicaAckMs) answers 'absent' only once the absence is too, so
   * the engine calls it (expectedVersion 0) before acknowledging a logout of an absent record.
   */
  destroy(lease: ServerLease, id: string, expectedVersion: number): Promise<WriteOutcome>;

  /**
   * Inherits, in one batch of at most `limit`, sessions of servers whose lease lapsed
   * (never a record whose turn a live server holds; rows locked by others are skipped).
   * Returns the IDs taken.
   */
  inheritBatch(lease: ServerLease, limit: number): Promise<string[]>;
  /**
   * Removes at most `limit` expired records, only when this server wins the cleanup
   * election; returns how many were removed, or -1 when another server runs cleanup now.
   */
  cleanupExpired(limit: number): Promise<number>;

  /**
   * The live records whose principal is `principal`, written by any server; at most
   * `limit`. Exact: a record is listed when and only when it is live and its last write
   * named this principal (docs/failover.md §Sessions of a principal).
   */
  sessionsOf(principal: string, limit: number): Promise<GlobalRecord[]>;
  /**
   * Turns every live record of `principal` (but the IDs in `except`) whose turn nobody
   * holds (free or ended) into a tombstone, as `destroy` does, in statements or scripts
   * that check the principal and the turn again; needs `lease` live (SESSIOND_FENCED
   * otherwise). A record whose turn is held (by any server, this one included: a request
   * in flight, or back mode's turns held for good) is left alone and reported `busy`: the
   * caller takes its turn (a hand-over in back mode) and destroys it then.
   */
  destroyAllOf(lease: ServerLease, principal: string, except: readonly string[]): Promise<DestroyAllResult>;

  /** Live records of the app (admin and `all()`); at most `limit`. */
  list(limit: number): Promise<GlobalRecord[]>;
  count(): Promise<number>;
  /**
   * Removes every record of the app (admin: not fenced) and the tombstones there were; each
   * live record leaves a tombstone of its own (while `tombstoneMs` > 0), as a destroy does:
   * a late save, or a server repairing a record it believes lost (`restore`), cannot bring
   * a cleared session back. Resolves how many records there were.
   */
  clear(): Promise<number>;

  /** Releases connections the store opened (not a pool the application passed in). */
  close(): Promise<void>;
}
