import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Prng } from '../src/util/prng.js';
import { childMain } from './lib/child-main.js';
import { concurrentLoop, forEachConcurrent, type ConcurrentResult } from './lib/concurrent-loop.js';
import { rawLogLoop, type RawLoopResult } from './lib/raw-log-loop.js';
import { makeSession, sessionBody, sessionJsonBytes } from './lib/session-data.js';
import { sessionIds } from './lib/session-ids.js';
import { loadSessiondEngine } from './lib/sessiond-engine.js';
import type { SessiondOptions } from './peers/peer.js';

export interface EnginePayload {
  dir: string;
  sessiondOptions: SessiondOptions;
  seed: number;
  sessions: number;
  phaseMs: number;
  depths: number[];
  cacheReadOps: number;
}

export interface EngineDepthResult {
  depth: number;
  raw: RawLoopResult;
  /** every save rewrites (nearly) all of a ~1 KiB session */
  fullSave: ConcurrentResult;
  /** every save changes three small attributes (rev, counter, lastSeenAt): a partial save */
  smallSave: ConcurrentResult;
}

export interface EngineResult {
  sessions: number;
  sessionJsonBytes: number;
  rawRecordBytes: number;
  populateSeconds: number;
  depths: EngineDepthResult[];
  cacheReads: { ops: number; seconds: number; opsPerSec: number };
  /** get plus what the express adapter does to hand the session over: JSON text, JSON.parse */
  cacheReadsParsed: { ops: number; seconds: number; opsPerSec: number };
}

const POPULATE_DEPTH = 1024;

/** sessiond's engine directly (durability fsync), beside a raw writev+fdatasync loop on the same disk. */
childMain<EnginePayload, EngineResult>(async (p) => {
  mkdirSync(p.dir, { recursive: true });
  const { SessionEngine, serializeObject, blobToJsonObject } = await loadSessiondEngine();
  const engine = await SessionEngine.open({ ...p.sessiondOptions, dir: join(p.dir, 'engine'), durability: 'fsync' });
  try {
    const ids = sessionIds(p.sessions, p.seed);
    const now = Date.now();
    // Two versions of every session, serialized up front: the engine's input is the attribute
    // record, and the raw loop it is compared with writes ready-made buffers too.
    const versions = [0, 1].map((v) => ids.map((_, i) => serializeObject(makeSession(sessionBody(p.seed + v, i), 1, 1, now))));
    const current = new Uint8Array(p.sessions);
    const populateSeconds = await forEachConcurrent(p.sessions, POPULATE_DEPTH, (i) => engine.save(ids[i]!, { attributes: versions[0]![i]! }));
    const sessionBytes = sessionJsonBytes(makeSession(sessionBody(p.seed, 0), 1, 1, now));
    // a PUT record of a ~1 KiB session: the session's bytes plus sessiond's record framing and fields
    const rawRecordBytes = sessionBytes + 128;
    const revs = new Uint32Array(p.sessions).fill(1);
    // every attribute changes: the other version of the session
    const fullChange = (i: number): Record<string, string> => versions[(current[i]! ^= 1)]![i]!;
    // three small attributes change (what a request that bumps a counter does)
    const smallChange = (i: number, rev: number): Record<string, string> => ({ ...versions[current[i]!]![i]!, rev: String(rev), counter: String(rev), lastSeenAt: String(now + rev) });
    const depths: EngineDepthResult[] = [];
    for (const depth of p.depths) {
      const raw = await rawLogLoop(join(p.dir, 'raw.log'), depth, rawRecordBytes, p.phaseMs);
      // writer w owns sessions w, w + depth, ...: no two saves of one session at once
      const save = (change: (i: number, rev: number) => Record<string, string>) => (w: number, n: number) => {
        const i = (w + n * depth) % p.sessions;
        return engine.save(ids[i]!, { attributes: change(i, ++revs[i]!) });
      };
      const fullSave = await concurrentLoop(depth, p.phaseMs, save(fullChange));
      const smallSave = await concurrentLoop(depth, p.phaseMs, save(smallChange));
      depths.push({ depth, raw, fullSave, smallSave });
    }
    const picks = new Uint32Array(1 << 16);
    const prng = new Prng(p.seed);
    for (let i = 0; i < picks.length; i++) picks[i] = prng.int(p.sessions);
    let found = 0;
    const r0 = performance.now();
    for (let k = 0; k < p.cacheReadOps; k++) if (engine.get(ids[picks[k & 0xffff]!]!) !== undefined) found++;
    const r1 = performance.now();
    if (found !== p.cacheReadOps) throw new Error(`engine.get found ${found} of ${p.cacheReadOps} sessions`);
    const parsedOps = Math.max(1, Math.floor(p.cacheReadOps / 200));
    let fields = 0;
    const q0 = performance.now();
    for (let k = 0; k < parsedOps; k++) fields += Object.keys(JSON.parse(blobToJsonObject(engine.get(ids[picks[k & 0xffff]!]!)!.attrs)) as object).length;
    const q1 = performance.now();
    if (fields === 0) throw new Error('parsed sessions have no attributes');
    return {
      sessions: p.sessions,
      sessionJsonBytes: sessionBytes,
      rawRecordBytes,
      populateSeconds,
      depths,
      cacheReads: { ops: p.cacheReadOps, seconds: (r1 - r0) / 1000, opsPerSec: p.cacheReadOps / ((r1 - r0) / 1000) },
      cacheReadsParsed: { ops: parsedOps, seconds: (q1 - q0) / 1000, opsPerSec: parsedOps / ((q1 - q0) / 1000) },
    };
  } finally {
    await engine.close();
  }
});
