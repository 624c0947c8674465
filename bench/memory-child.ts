import { mkdirSync } from 'node:fs';
import type { SessionData } from 'express-session';
import { Prng } from '../src/util/prng.js';
import { childMain } from './lib/child-main.js';
import { forEachConcurrent } from './lib/concurrent-loop.js';
import { rssBytes, settleHeap } from './lib/rss.js';
import { makeSession, sessionBody, sessionJsonBytes } from './lib/session-data.js';
import { randomSessionId } from './lib/session-ids.js';
import { peerFactory } from './peers/peer-registry.js';
import type { SessiondOptions } from './peers/peer.js';

export interface MemoryPayload {
  peer: string;
  dir: string;
  sessiondOptions: SessiondOptions;
  sessions: number;
  seed: number;
  depth: number;
  settleMs: number;
}

export interface MemoryResult {
  peer: string;
  name: string;
  sessions: number;
  loadSeconds: number;
  payloadBytesPerSession: number;
  rssBaselineBytes: number;
  rssLoadedBytes: number;
  heapUsedBytes: number;
  rssPerSessionBytes: number;
}

/** sessions whose JSON size is measured (all are alike; measuring every one would slow the load) */
const PAYLOAD_SAMPLE = 1000;

/**
 * Loads N sessions into one store through its Store API and measures the resident set it
 * grew by, after garbage collection. The harness keeps nothing per session (IDs and
 * sessions are made on the fly), so the growth is the store's.
 */
childMain<MemoryPayload, MemoryResult>(async (p) => {
  mkdirSync(p.dir, { recursive: true });
  const peer = await peerFactory(p.peer)({ dir: p.dir, sessiondOptions: p.sessiondOptions });
  try {
    await settleHeap();
    const rssBaselineBytes = rssBytes();
    const prng = new Prng(p.seed);
    let payload = 0;
    const now = Date.now();
    const loadSeconds = await forEachConcurrent(p.sessions, p.depth, (i) => {
      const s = makeSession(sessionBody(p.seed, i), 1, i, now);
      if (i < PAYLOAD_SAMPLE) payload += sessionJsonBytes(s);
      const id = randomSessionId(prng);
      return new Promise<void>((resolve, reject) => peer.store.set(id, s as unknown as SessionData, (err?: unknown) => (err ? reject(err as Error) : resolve())));
    });
    // let a background flusher (sessiond's runs every second) settle before measuring
    await new Promise((r) => setTimeout(r, p.settleMs));
    await settleHeap();
    const rssLoadedBytes = rssBytes();
    return {
      peer: p.peer,
      name: peer.name,
      sessions: p.sessions,
      loadSeconds,
      payloadBytesPerSession: payload / Math.min(PAYLOAD_SAMPLE, p.sessions),
      rssBaselineBytes,
      rssLoadedBytes,
      heapUsedBytes: process.memoryUsage().heapUsed,
      rssPerSessionBytes: (rssLoadedBytes - rssBaselineBytes) / p.sessions,
    };
  } finally {
    await peer.close();
  }
});
