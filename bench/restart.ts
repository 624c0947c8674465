/**
 * The restart of issue 8, alone, so one populated store can be reopened many times (and by
 * another build of the engine) without saving a million sessions again each time:
 *
 *   node --expose-gc dist/bench/restart.js populate <dir> <sessions>
 *       saves N sessions of ~1 KiB (the recovery workload's: 64 realistic templates, each copy
 *       with its own ID, user ID and counter) with durability fsync, 1024 outstanding, then
 *       SIGKILLs itself right after the last save is acknowledged.
 *   node --expose-gc dist/bench/restart.js reopen <dir> [engine options JSON] [engine root]
 *       opens the store, prints one JSON line: open time, CPU time and page faults of the open, the time to
 *       the first answered read, the time until the database file holds everything the open
 *       replayed (foldedMs: flush() resolved; foldSessions: what the open left to the
 *       background fold, 0 when it folded before returning), RSS above the process's baseline (after GC), the recovery
 *       report's counts, and a spot check of 1,000 sessions field by field. `engine root`
 *       runs another build (a directory holding dist/src), e.g. a checkout of main.
 *
 * Copy the directory before each reopen: a reopen folds the logs into the database file.
 */
import { mkdirSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { forEachConcurrent } from './lib/concurrent-loop.js';
import { rssBytes, settleHeap } from './lib/rss.js';
import { makeSession, sessionBody, sessionJsonBytes } from './lib/session-data.js';
import { sessionIds } from './lib/session-ids.js';
import { REPO_ROOT } from './lib/package-version.js';
import type { SessiondEngineModules } from './lib/sessiond-engine.js';

const SEED = 42;
const TEMPLATES = 64;
const POPULATE_DEPTH = 1024;
const SPOT_CHECKS = 1000;

async function engineOf(root: string): Promise<SessiondEngineModules> {
  const engine = (await import(pathToFileURL(join(root, 'dist/src/engine/session-engine.js')).href)) as { SessionEngine: SessiondEngineModules['SessionEngine'] };
  const attrs = (await import(pathToFileURL(join(root, 'dist/src/session/attributes.js')).href)) as Omit<SessiondEngineModules, 'SessionEngine'>;
  return { SessionEngine: engine.SessionEngine, ...attrs };
}

function attributesOf(templates: Record<string, string>[], i: number): Record<string, string> {
  return { ...templates[i % TEMPLATES]!, userId: JSON.stringify(`u_${i.toString(36).padStart(8, '0')}`), counter: String(i) };
}

function templatesOf(m: SessiondEngineModules, nowMs: number): { templates: Record<string, string>[]; payloadBytes: number } {
  const sessions = Array.from({ length: TEMPLATES }, (_, k) => makeSession(sessionBody(SEED, k), 1, 0, nowMs));
  return { templates: sessions.map((s) => m.serializeObject(s)), payloadBytes: sessions.reduce((n, s) => n + sessionJsonBytes(s), 0) / TEMPLATES };
}

async function populate(dir: string, sessions: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const m = await engineOf(REPO_ROOT);
  const engine = await m.SessionEngine.open({ dir, durability: 'fsync' });
  const ids = sessionIds(sessions, SEED);
  const { templates, payloadBytes } = templatesOf(m, Date.now());
  const seconds = await forEachConcurrent(sessions, POPULATE_DEPTH, (i) => engine.save(ids[i]!, { attributes: attributesOf(templates, i) }));
  writeSync(1, JSON.stringify({ mode: 'populate', sessions, seconds, payloadBytes }) + '\n'); // sync: the SIGKILL follows
  process.kill(process.pid, 'SIGKILL');
}

/** The attributes without the write-time fields (the populate clock differs). */
function comparable(m: SessiondEngineModules, blob: string | undefined): string {
  if (blob === undefined) return 'nothing';
  const { cookie: _c, lastSeenAt: _l, ...rest } = JSON.parse(m.blobToJsonObject(blob)) as Record<string, unknown>;
  return JSON.stringify(rest);
}

async function reopen(dir: string, options: Record<string, unknown>, root: string): Promise<void> {
  const m = await engineOf(root);
  const ids = sessionIds(SPOT_CHECKS, SEED);
  const { templates } = templatesOf(m, 0);
  await settleHeap();
  const rssBefore = rssBytes();
  const cpu0 = process.cpuUsage();
  const faults0 = process.resourceUsage().minorPageFault;
  const t0 = performance.now();
  const engine = await m.SessionEngine.open({ ...options, dir, durability: 'fsync' });
  const openMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  // Pages made resident by the open: on a VM each costs far more than its copy (docs/benchmarks.md).
  const openMinorFaults = process.resourceUsage().minorPageFault - faults0;
  // The first request: a read of a session that may not be decoded (or loaded) yet.
  const e = engine as unknown as { read?: (id: string) => Promise<{ attrs: string } | undefined>; get: (id: string) => { attrs: string } | undefined };
  const first = e.read !== undefined ? await e.read(ids[0]!) : e.get(ids[0]!);
  const firstReadMs = performance.now() - t0;
  if (first === undefined) throw new Error('the first read found nothing');
  // Time to fully folded: flush() resolves after a cycle that began after the call, so after
  // the background fold of what the open replayed (a build without it folded in the open).
  const f = engine as unknown as { flush: () => Promise<void>; stats: () => Promise<{ recovering?: { sessions: number } }> };
  const foldSessions = (await f.stats()).recovering?.sessions ?? 0;
  await f.flush();
  const foldedMs = performance.now() - t0;
  let checked = 0;
  for (let i = 0; i < ids.length; i++) {
    const s = e.read !== undefined ? await e.read(ids[i]!) : e.get(ids[i]!);
    const want = comparable(m, m.blobFromAttributes(attributesOf(templates, i)));
    if (comparable(m, s?.attrs) !== want) throw new Error(`session ${i} came back as ${s?.attrs.slice(0, 200)}`);
    checked++;
  }
  const sessions = engine.count();
  await settleHeap();
  const rssAfter = rssBytes();
  const r = engine.recovery;
  console.log(
    JSON.stringify({
      mode: 'reopen',
      root,
      options,
      openMs: Math.round(openMs),
      openCpuUserMs: Math.round(cpu.user / 1000),
      openCpuSystemMs: Math.round(cpu.system / 1000),
      openMinorFaults,
      firstReadMs: Math.round(firstReadMs),
      foldedMs: Math.round(foldedMs),
      foldSessions,
      sessions,
      spotChecked: checked,
      rssBytesPerSession: Math.round((rssAfter - rssBefore) / sessions),
      rssAboveBaselineMiB: Math.round((rssAfter - rssBefore) / 2 ** 20),
      recordsReplayed: r.recordsReplayed,
      dbImages: r.db.images,
      dbBytesScanned: r.db.bytesScanned,
    }),
  );
  await engine.close();
}

const [mode, dir, arg3, arg4] = process.argv.slice(2);
if (mode === 'populate' && dir !== undefined && arg3 !== undefined) await populate(resolve(dir), Number(arg3));
else if (mode === 'reopen' && dir !== undefined) await reopen(resolve(dir), arg3 === undefined ? {} : (JSON.parse(arg3) as Record<string, unknown>), resolve(arg4 ?? REPO_ROOT));
else {
  console.error('usage: restart.js populate <dir> <sessions> | reopen <dir> [engine options JSON] [engine root]');
  process.exit(2);
}
