import type { Store } from 'express-session';

/** One store as the bench runs it: set up the way a user would run it durably. */
export interface Peer {
  /** the name results are keyed by, e.g. 'connect-redis' or 'sessiond-fsync' */
  name: string;
  /** what a crash or power loss can lose, as it ran */
  durability: string;
  /** packages and servers, with versions */
  versions: Record<string, string>;
  store: Store;
  /** a server the peer started itself (its RSS is reported beside the client's) */
  serverPid?: number;
  close(): Promise<void>;
}

export interface PeerContext {
  /** a directory the peer owns for its files (created, empty) */
  dir: string;
  /** extra engine options for sessiond's stores (see BenchConfig.sessiondOptions); peers ignore it */
  sessiondOptions: SessiondOptions;
}

/** Engine options beyond { dir, durability }, as JSON values. */
export type SessiondOptions = Record<string, number | string | boolean>;

export type PeerFactory = (ctx: PeerContext) => Promise<Peer>;
