import { createFileStorePeer } from './file-store-peer.js';
import { createMemorystorePeer } from './memorystore-peer.js';
import { createNoopPeer } from './noop-store.js';
import type { PeerFactory } from './peer.js';
import { createPgPeer } from './pg-peer.js';
import { createRedisPeer, redisPeer } from './redis-peer.js';
import { createSessiondServePeer } from './sessiond-serve-peer.js';
import { sessiondAvailable, sessiondPeer } from './sessiond-peer.js';
import { createSqlitePeer } from './sqlite-peer.js';

/** Every store the bench knows, by the key used on the command line and in results. */
export const PEERS: Readonly<Record<string, PeerFactory>> = {
  noop: createNoopPeer,
  memorystore: createMemorystorePeer,
  redis: createRedisPeer,
  pg: createPgPeer,
  file: createFileStorePeer,
  sqlite: createSqlitePeer,
  'sessiond-fsync': sessiondPeer('fsync'),
  'sessiond-interval': sessiondPeer('interval'),
  'sessiond-none': sessiondPeer('none'),
};

/**
 * The stores of `npm run bench:server`'s HTTP workload (bench/server-protocol.ts): connect-redis
 * against `sessiond serve` and against redis-server at three persistence settings. Not in
 * `npm run bench`'s default set.
 */
export const SERVER_PEERS: Readonly<Record<string, PeerFactory>> = {
  'serve-sessiond': createSessiondServePeer,
  'serve-redis-always': redisPeer('always', 'connect-redis → redis-server appendfsync always'),
  'serve-redis-everysec': redisPeer('everysec', 'connect-redis → redis-server appendfsync everysec'),
  'serve-redis-none': redisPeer('none', 'connect-redis → redis-server no persistence'),
};

export const SESSIOND_PEERS = ['sessiond-fsync', 'sessiond-interval', 'sessiond-none'] as const;

/** The stores this build can run: all peers, plus sessiond once its adapter exists. */
export function availablePeers(): string[] {
  return Object.keys(PEERS).filter((k) => !k.startsWith('sessiond') || sessiondAvailable());
}

export function peerFactory(key: string): PeerFactory {
  const f = PEERS[key] ?? SERVER_PEERS[key];
  if (f === undefined) throw new Error(`unknown store '${key}'; known: ${[...Object.keys(PEERS), ...Object.keys(SERVER_PEERS)].join(', ')}`);
  return f;
}
