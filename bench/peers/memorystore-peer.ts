import session from 'express-session';
import createMemoryStore from 'memorystore';
import { packageVersion } from '../lib/package-version.js';
import type { Peer, PeerContext } from './peer.js';

/** memorystore: an LRU of JSON strings in the process, pruned once a day (its README's setup). */
export async function createMemorystorePeer(_ctx: PeerContext): Promise<Peer> {
  const MemoryStore = createMemoryStore(session);
  const store = new MemoryStore({ checkPeriod: 24 * 3600_000 });
  return {
    name: 'memorystore',
    durability: 'none: process memory (lost on any crash or restart)',
    versions: { memorystore: packageVersion('memorystore') },
    store,
    close: async () => store.stopInterval(),
  };
}
