import { createRequire } from 'node:module';
import session from 'express-session';
import type { Store } from 'express-session';
import pg from 'pg';
import { packageVersion } from '../lib/package-version.js';
import type { Peer, PeerContext } from './peer.js';

const require = createRequire(import.meta.url);

/** The part of connect-pg-simple the bench uses (it ships no types). */
type PgStoreClass = new (options: { pool: pg.Pool; schemaName: string; tableName: string; createTableIfMissing: boolean; pruneSessionInterval: number | false }) => Store & {
  close(): Promise<void>;
};

export const PG_CONNECTION = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' } as const;

/** connect-pg-simple on the machine's PostgreSQL, its own table, synchronous_commit on. */
export async function createPgPeer(_ctx: PeerContext): Promise<Peer> {
  const connectPgSimple = require('connect-pg-simple') as (s: typeof session) => PgStoreClass;
  const PgStore = connectPgSimple(session);
  // A schema of its own: connect-pg-simple names its primary key "session_pkey" whatever the
  // table, unique per schema, so a table a killed run left in a shared schema would make the
  // create fail ('relation "session_pkey" already exists').
  const schemaName = `sessiond_bench_${process.pid}`;
  const tableName = 'session';
  // The pool as node-postgres sets it up by default (10 clients); every commit waits for its WAL fsync.
  const pool = new pg.Pool({ ...PG_CONNECTION, max: 10, options: '-c synchronous_commit=on' });
  try {
    const settings = await pool.query<{ name: string; setting: string }>(
      "SELECT name, setting FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync', 'wal_sync_method', 'server_version')",
    );
    const s = Object.fromEntries(settings.rows.map((r) => [r.name, r.setting]));
    if (s.synchronous_commit !== 'on' || s.fsync !== 'on') throw new Error(`PostgreSQL runs with synchronous_commit=${s.synchronous_commit}, fsync=${s.fsync}`);
    await pool.query(`DROP SCHEMA IF EXISTS "${schemaName}" CASCADE`);
    await pool.query(`CREATE SCHEMA "${schemaName}"`);
    const store = new PgStore({ pool, schemaName, tableName, createTableIfMissing: true, pruneSessionInterval: 15 * 60 });
    return {
      name: 'connect-pg-simple',
      durability: `PostgreSQL ${s.server_version}, synchronous_commit on, fsync on (${s.wal_sync_method}): every acknowledged write survives power loss`,
      versions: { 'connect-pg-simple': packageVersion('connect-pg-simple'), pg: packageVersion('pg'), postgresql: s.server_version ?? 'unknown' },
      store,
      close: async () => {
        try {
          await store.close();
          await pool.query(`DROP SCHEMA IF EXISTS "${schemaName}" CASCADE`);
        } finally {
          await pool.end();
        }
      },
    };
  } catch (e) {
    await pool.end();
    throw e;
  }
}
