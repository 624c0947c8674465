import { mkdirSync } from 'node:fs';
import { childMain, nextParentMessage } from './lib/child-main.js';
import { forEachConcurrent } from './lib/concurrent-loop.js';
import { rssBytes, settleHeap } from './lib/rss.js';
import { makeSession, sessionBody, sessionJsonBytes } from './lib/session-data.js';
import { sessionIds } from './lib/session-ids.js';
import { loadSessiondEngine } from './lib/sessiond-engine.js';
import type { SessiondOptions } from './peers/peer.js';

export interface RecoveryPayload {
  mode: 'populate' | 'reopen';
  dir: string;
  sessiondOptions: SessiondOptions;
  sessions: number;
  seed: number;
}

export interface PopulateResult {
  seconds: number;
  payloadBytesPerSession: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
}

export interface ReopenResult {
  openMs: number;
  sessionsFound: number;
  spotChecked: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  /** sessiond's own recovery report */
  report: Record<string, unknown>;
}

const POPULATE_DEPTH = 1024;
const SPOT_CHECKS = 1000;
const TEMPLATES = 64;

/**
 * Session i's attributes: one of 64 realistic ~1 KiB sessions (serialized once) with its own
 * user ID and counter, so a million distinct sessions cost the harness almost nothing to make.
 */
function attributesOf(templates: Record<string, string>[], i: number): Record<string, string> {
  return { ...templates[i % TEMPLATES]!, userId: JSON.stringify(`u_${i.toString(36).padStart(8, '0')}`), counter: String(i) };
}

/** Sessions compared without their cookie and write time (the populate clock differs). */
function comparable(json: string): string {
  if (json === 'nothing') return json;
  const { cookie: _c, lastSeenAt: _l, ...rest } = JSON.parse(json) as Record<string, unknown>;
  return JSON.stringify(rest);
}

/**
 * 'populate': saves N sessions (durability fsync), says 'populated', then waits for the
 * SIGKILL. 'reopen': opens the same directory and times it; checks what came back.
 */
childMain<RecoveryPayload, ReopenResult | undefined>(async (p, send) => {
  mkdirSync(p.dir, { recursive: true });
  const { SessionEngine, serializeObject, blobToJsonObject, blobFromAttributes } = await loadSessiondEngine();
  await settleHeap();
  const rssBeforeBytes = rssBytes();
  if (p.mode === 'populate') {
    const engine = await SessionEngine.open({ ...p.sessiondOptions, dir: p.dir, durability: 'fsync' });
    const ids = sessionIds(p.sessions, p.seed);
    const sessions = Array.from({ length: TEMPLATES }, (_, k) => makeSession(sessionBody(p.seed, k), 1, 0, Date.now()));
    const templates = sessions.map((s) => serializeObject(s));
    const seconds = await forEachConcurrent(p.sessions, POPULATE_DEPTH, (i) => engine.save(ids[i]!, { attributes: attributesOf(templates, i) }));
    ids.length = 0;
    await settleHeap();
    const payload = sessions.reduce((n, s) => n + sessionJsonBytes(s), 0) / TEMPLATES;
    const result: PopulateResult = { seconds, payloadBytesPerSession: payload, rssBeforeBytes, rssAfterBytes: rssBytes() };
    send({ type: 'populated', result });
    await nextParentMessage('never'); // the parent ends this process with SIGKILL
    return undefined;
  }
  const t0 = performance.now();
  const engine = await SessionEngine.open({ ...p.sessiondOptions, dir: p.dir, durability: 'fsync' });
  const openMs = performance.now() - t0;
  try {
    const sessionsFound = engine.count();
    const ids = sessionIds(Math.min(SPOT_CHECKS, p.sessions), p.seed);
    const templates = Array.from({ length: TEMPLATES }, (_, k) => serializeObject(makeSession(sessionBody(p.seed, k), 1, 0, 0)));
    for (const [i, id] of ids.entries()) {
      // read, not get: under --sessiond-options '{"cacheBytesMax":...}' a session may be on disk.
      const s = await engine.read(id);
      const want = blobToJsonObject(blobFromAttributes(attributesOf(templates, i)));
      const got = s === undefined ? 'nothing' : blobToJsonObject(s.attrs);
      if (comparable(got) !== comparable(want)) throw new Error(`session ${i} came back as ${got.slice(0, 200)}`);
    }
    await settleHeap();
    return { openMs, sessionsFound, spotChecked: ids.length, rssBeforeBytes, rssAfterBytes: rssBytes(), report: { ...engine.recovery } };
  } finally {
    await engine.close();
  }
});
