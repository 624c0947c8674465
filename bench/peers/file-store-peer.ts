import { createRequire } from 'node:module';
import { join } from 'node:path';
import session from 'express-session';
import type { Store } from 'express-session';
import { packageVersion } from '../lib/package-version.js';
import type { Peer, PeerContext } from './peer.js';

const require = createRequire(import.meta.url);

type FileStoreClass = new (options: { path: string; ttl: number; retries: number; reapInterval: number; logFn: () => void }) => Store;

/**
 * session-file-store: one JSON file per session, written with write-file-atomic (temp file,
 * fsync, rename). `retries: 0`: its default of 5 retries (50-100 ms apart) on ENOENT would
 * make every read of a destroyed session take ~0.4 s; retries never help a missing file.
 */
export async function createFileStorePeer(ctx: PeerContext): Promise<Peer> {
  const fileStore = require('session-file-store') as (s: typeof session) => FileStoreClass;
  const FileStore = fileStore(session);
  const store = new FileStore({ path: join(ctx.dir, 'sessions'), ttl: 24 * 3600, retries: 0, reapInterval: 3600, logFn: () => {} });
  return {
    name: 'session-file-store',
    durability: 'file per session: temp file + fsync + rename (directory not fsynced, so a power loss can undo the last renames and destroys)',
    versions: { 'session-file-store': packageVersion('session-file-store'), 'write-file-atomic': packageVersion('write-file-atomic') },
    store,
    close: async () => {},
  };
}
