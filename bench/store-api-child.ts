import { mkdirSync } from 'node:fs';
import { childMain } from './lib/child-main.js';
import { processRss, rssBytes, rssPeakBytes } from './lib/rss.js';
import { StoreWorkload, type PhaseResult, type PhaseSpec } from './lib/store-workload.js';
import { peerFactory } from './peers/peer-registry.js';
import type { SessiondOptions } from './peers/peer.js';

export interface StoreApiPayload {
  peer: string;
  dir: string;
  sessiondOptions: SessiondOptions;
  sessions: number;
  seed: number;
  populateDepth: number;
  phases: PhaseSpec[];
}

export interface StoreApiResult {
  peer: string;
  name: string;
  durability: string;
  versions: Record<string, string>;
  sessions: number;
  populate: PhaseResult;
  phases: PhaseResult[];
  verify: { checked: number; failures: number; firstFailure?: string };
  rssPeakBytes: number;
  rssAfterPopulateBytes: number;
  /** peak RSS of a server the store needed and the bench started (Redis) */
  serverRssPeakBytes?: number;
}

/** One store, in its own process: populate, the timed phases, then read everything back. */
childMain<StoreApiPayload, StoreApiResult>(async (p) => {
  mkdirSync(p.dir, { recursive: true });
  const peer = await peerFactory(p.peer)({ dir: p.dir, sessiondOptions: p.sessiondOptions });
  try {
    const workload = new StoreWorkload(peer.store, p.sessions, p.seed);
    const populate = await workload.populate(p.populateDepth);
    const rssAfterPopulateBytes = rssBytes();
    const phases: PhaseResult[] = [];
    for (const spec of p.phases) phases.push(await workload.run(spec));
    const verify = await workload.verifyAll(p.populateDepth);
    const server = peer.serverPid === undefined ? undefined : processRss(peer.serverPid);
    return {
      peer: p.peer,
      name: peer.name,
      durability: peer.durability,
      versions: peer.versions,
      sessions: p.sessions,
      populate,
      phases,
      verify,
      rssPeakBytes: rssPeakBytes(),
      rssAfterPopulateBytes,
      ...(server !== undefined ? { serverRssPeakBytes: server.peakBytes } : {}),
    };
  } finally {
    await peer.close();
  }
});
