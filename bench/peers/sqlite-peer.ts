import { createRequire } from 'node:module';
import { join } from 'node:path';
import session from 'express-session';
import type { Store } from 'express-session';
import { packageVersion } from '../lib/package-version.js';
import type { Peer, PeerContext } from './peer.js';

const require = createRequire(import.meta.url);

/** The part of better-sqlite3 the bench uses (it ships no types here). */
interface SqliteDatabase {
  pragma(source: string, options?: { simple: boolean }): unknown;
  close(): void;
}
type SqliteStoreClass = new (options: { client: SqliteDatabase; expired: { clear: boolean; intervalMs: number } }) => Store;

const SYNCHRONOUS_FULL = 2;

/** better-sqlite3-session-store on a WAL database with synchronous FULL (fsync per commit). */
export async function createSqlitePeer(ctx: PeerContext): Promise<Peer> {
  const Database = require('better-sqlite3') as new (file: string) => SqliteDatabase;
  const sqliteStore = require('better-sqlite3-session-store') as (s: typeof session) => SqliteStoreClass;
  const db = new Database(join(ctx.dir, 'sessions.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  const mode = db.pragma('journal_mode', { simple: true });
  const sync = db.pragma('synchronous', { simple: true });
  if (mode !== 'wal' || sync !== SYNCHRONOUS_FULL) throw new Error(`sqlite runs with journal_mode=${String(mode)}, synchronous=${String(sync)}`);
  const SqliteStore = sqliteStore(session);
  // Its expiry sweep is an un-unref'd interval that close() cannot stop; the bench's children exit instead.
  const store = new SqliteStore({ client: db, expired: { clear: true, intervalMs: 15 * 60_000 } });
  return {
    name: 'better-sqlite3-session-store',
    durability: 'SQLite WAL, synchronous FULL: the WAL is fsynced at every commit, every acknowledged write survives power loss',
    versions: { 'better-sqlite3-session-store': packageVersion('better-sqlite3-session-store'), 'better-sqlite3': packageVersion('better-sqlite3') },
    store,
    close: async () => db.close(),
  };
}
