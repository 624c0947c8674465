import { createFileStorePeer } from './file-store-peer.js';
import { createMemorystorePeer } from './memorystore-peer.js';
import { createNoopPeer } from './noop-store.js';
import type { PeerFactory } from './peer.js';
import { createPgPeer } from './pg-peer.js';
import { createRedisPeer } from './redis-peer.js';
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

export const SESSIOND_PEERS = ['sessiond-fsync', 'sessiond-interval', 'sessiond-none'] as const;

/** The stores this build can run: all peers, plus sessiond once its adapter exists. */
export function availablePeers(): string[] {
  return Object.keys(PEERS).filter((k) => !k.startsWith('sessiond') || sessiondAvailable());
}

export function peerFactory(key: string): PeerFactory {
  const f = PEERS[key];
  if (f === undefined) throw new Error(`unknown store '${key}'; known: ${Object.keys(PEERS).join(', ')}`);
  return f;
}
