/**
 * Corruption fuzzing (kind: crash simulation with damaged files). A seeded workload runs
 * on the simulated file layer and either closes cleanly or loses power; then one file of
 * the store (log-0, log-1 or sessions.db) gets one fault: a byte replaced, a range zeroed,
 * or the file truncated. The rule under test (docs/durability.md, "Corruption"): the
 * reopened store holds every acknowledged change and no destroyed session, or the open
 * fails with a typed corruption error and `sessiond verify` reports the damaged file.
 *
 * The one allowance is the documented limit: damage in the newest log past the last
 * record that a later record vouches for looks like a torn tail, so after a crash the
 * changes from the damaged offset on may be missing (never holes, never resurrections).
 */
import { join } from 'node:path';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { Prng } from '../../src/util/prng.js';
import { isSessiondError } from '../../src/errors.js';
import { DB_FILE_NAME, LOG_FILE_NAMES } from '../../src/format/constants.js';
import { readLog } from '../../src/log/log-reader.js';
import { verifyStore } from '../../src/cli/verify-store.js';
import { CLOCK_START_MS, engineOptions, matchPrefix, runWorkload, STORE_DIR, type Change } from './crash-harness.js';
import { actualStore } from './crash-oracle.js';

export interface FuzzCase {
  seed: number;
  /** Power loss after the workload instead of a clean close. */
  crash: boolean;
  /** Which fault of this base store (several per seed). */
  fault: number;
}

export interface Fault {
  file: string;
  kind: 'byte' | 'zero' | 'truncate';
  offset: number;
  bytes: number;
}

const FILES = [...LOG_FILE_NAMES, DB_FILE_NAME];
const TYPED = new Set(['SESSIOND_LOG_CORRUPT', 'SESSIOND_DB_CORRUPT']);

interface Base {
  fs: SimFileSystem;
  changes: Change[];
  ackedLsn: number;
  /** The workload clock's time at its end: what expiry is judged against. */
  nowMs: number;
}

const bases = new Map<string, Promise<Base>>();

/** The store after the workload (memoized per seed and mode: every fault starts from a copy). */
function base(seed: number, crash: boolean, steps: number): Promise<Base> {
  const key = `${seed}/${crash}/${steps}`;
  let b = bases.get(key);
  if (b === undefined) {
    b = (async () => {
      const fs = new SimFileSystem();
      const clock = new ManualClock(CLOCK_START_MS, { timers: true });
      const run = await runWorkload(fs, { seed, steps, clock });
      if (!crash) {
        await run.engine?.close();
        return { fs, changes: run.changes, ackedLsn: run.ackedLsn, nowMs: clock.now() };
      }
      const survivor = fs.crash(seed);
      await run.engine?.close().catch(() => undefined);
      return { fs: survivor, changes: run.changes, ackedLsn: run.ackedLsn, nowMs: clock.now() };
    })();
    bases.set(key, b);
  }
  return b;
}

function copyStore(from: SimFileSystem): SimFileSystem {
  const fs = new SimFileSystem();
  for (const name of FILES) {
    const path = join(STORE_DIR, name);
    if (from.exists(path)) fs.writeFileSync(path, from.readFileSync(path));
  }
  return fs;
}

export function pickFault(fs: SimFileSystem, prng: Prng): Fault | undefined {
  const files = FILES.filter((f) => fs.exists(join(STORE_DIR, f)) && fs.readFileSync(join(STORE_DIR, f)).byteLength > 0);
  if (files.length === 0) return undefined;
  const file = prng.pick(files);
  const size = fs.readFileSync(join(STORE_DIR, file)).byteLength;
  const r = prng.int(3);
  // Headers and record/image heads are where damage hurts most: aim there half the time.
  const offset = prng.bool(0.3) ? prng.int(Math.min(size, 1024)) : prng.int(size);
  if (r === 0) return { file, kind: 'byte', offset, bytes: 1 };
  if (r === 1) return { file, kind: 'zero', offset, bytes: 1 + prng.int(Math.min(1024, size - offset)) };
  return { file, kind: 'truncate', offset, bytes: size - offset };
}

export function applyFault(fs: SimFileSystem, f: Fault, prng: Prng): void {
  const path = join(STORE_DIR, f.file);
  const bytes = fs.readFileSync(path);
  if (f.kind === 'truncate') {
    fs.writeFileSync(path, bytes.subarray(0, f.offset));
    return;
  }
  const out = bytes.slice();
  if (f.kind === 'byte') out[f.offset] = out[f.offset]! ^ (1 + prng.int(255));
  else out.fill(0, f.offset, f.offset + f.bytes);
  fs.writeFileSync(path, out);
}

/**
 * The lowest LSN every change up to which must survive: the acknowledged one, or (after a
 * crash, damage in the newest log that no later record vouches for) the last record before
 * the damage: the documented limit.
 */
async function floorLsn(fs: SimFileSystem, f: Fault, ackedLsn: number, crash: boolean): Promise<number> {
  if (!crash || f.file === DB_FILE_NAME) return ackedLsn;
  const logs: Array<{ file: string; generation: number; recs: Array<{ lsn: number; offset: number; end: number; syncedBytes: number }> }> = [];
  for (const file of LOG_FILE_NAMES) {
    const recs: Array<{ lsn: number; offset: number; end: number; syncedBytes: number }> = [];
    const r = await readLog(fs, join(STORE_DIR, file), { salvage: true, recordBytesMax: 1 << 24 }, (rec, offset) => {
      recs.push({ lsn: rec.lsn, offset, end: offset + rec.data.byteLength + 56, syncedBytes: rec.syncedBytes });
    });
    if (r.header !== undefined && recs.length > 0) logs.push({ file, generation: r.header.generation, recs });
  }
  logs.sort((a, b) => b.generation - a.generation);
  const newest = logs[0];
  if (newest === undefined || newest.file !== f.file) return ackedLsn;
  const damageEnd = f.kind === 'truncate' ? Infinity : f.offset + f.bytes;
  if (newest.recs.some((r) => r.offset >= damageEnd && r.syncedBytes > f.offset)) return ackedLsn; // vouched: must be caught
  const intact = newest.recs.filter((r) => r.end <= f.offset);
  const last = intact.length > 0 ? intact[intact.length - 1]!.lsn : newest.recs[0]!.lsn - 1;
  return Math.min(ackedLsn, last);
}

/** Runs one fuzz case; resolves an error text (naming the case) or undefined when the rule held. */
export async function runFuzzCase(c: FuzzCase, steps = 30): Promise<string | undefined> {
  const b = await base(c.seed, c.crash, steps);
  const fs = copyStore(b.fs);
  const prng = new Prng(c.seed * 1_000_003 + c.fault * 7 + (c.crash ? 1 : 0));
  const fault = pickFault(fs, prng);
  if (fault === undefined) return undefined;
  const undamaged = copyStore(fs);
  applyFault(fs, fault, prng);
  const name = `${JSON.stringify(c)} ${JSON.stringify(fault)}`;
  let engine: SessionEngine;
  try {
    engine = await SessionEngine.open(engineOptions(fs, new ManualClock()));
  } catch (e) {
    if (!isSessiondError(e) || !TYPED.has(e.code)) return `${name}: open failed with an untyped or unexpected error: ${String(e)}`;
    const v = await verifyStore(copyStore(fs), STORE_DIR);
    if (v.ok) return `${name}: open refused (${e.code}: ${e.message}) but verify said ok`;
    return undefined;
  }
  try {
    const floor = await floorLsn(undamaged, fault, b.ackedLsn, c.crash);
    const m = matchPrefix({ base: new Map(), changes: b.changes, keptLsn: floor }, actualStore(engine), b.nowMs);
    if ('error' in m) return `${name}: ${m.error} (floor lsn ${floor}, acked ${b.ackedLsn}); report ${JSON.stringify({ ...engine.recovery, db: undefined, logs: undefined })}`;
    return undefined;
  } finally {
    await engine.close();
  }
}
