/**
 * Crash simulation harness: runs a seeded workload against the engine on the simulated
 * file layer, crashes it at a chosen file-system operation (unsynced writes applied,
 * dropped or torn per sector), reopens, and checks the recovered state against an oracle.
 *
 * The oracle: the engine reports every change the moment its record is appended (the
 * `observer` option), so S_k, the state after the first k appended changes, is known for
 * every k. After a crash the store must hold exactly some S_k with k at or past the last
 * acknowledged change: every acknowledged change present, no destroyed session back, and
 * the unacknowledged ones an in-order prefix (no holes).
 */
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { Prng } from '../../src/util/prng.js';
import type { SessionState } from '../../src/session/session-state.js';
import type { EngineOptionsInput } from '../../src/options.js';

export const STORE_DIR = '/store';

export interface Change {
  lsn: number;
  id: string;
  state: SessionState | undefined;
}

/** What a session must look like after recovery (the fields recovery must restore). */
export function fingerprint(s: SessionState): string {
  return `${s.version}|${s.createdAtMs}|${s.expiresAtMs}|${s.maxInactiveMs}|${s.attrs}`;
}

export interface WorkloadRun {
  changes: Change[];
  /** LSN of the last change whose promise resolved (acknowledged); 0 if none. */
  ackedLsn: number;
  engine: SessionEngine | undefined;
  opened: boolean;
  /** Every error any operation (or the open) failed with. */
  errors: unknown[];
}

export function engineOptions(fs: SimFileSystem, clock: ManualClock, observer?: (c: Change) => void): EngineOptionsInput {
  return {
    dir: STORE_DIR,
    fs,
    clock,
    owner: 'test-server',
    logSwapBytes: 4096,
    groupCommitBytesMax: 4096,
    flushBatchBytesMax: 4096, // flushes split into several database batches
    flushIntervalMs: 3_600_000, // the workload flushes by hand, and on every log swap
    expiryIntervalMs: 3_600_000,
    observer: { appended: (lsn, id, state) => observer?.({ lsn, id, state }) },
  };
}

function makeId(prng: Prng): string {
  return Buffer.from(prng.bytes(18)).toString('base64url');
}

function randomAttrs(prng: Prng): Record<string, string> {
  const out: Record<string, string> = {};
  const n = 1 + prng.int(4);
  for (let i = 0; i < n; i++) {
    const big = prng.int(10) === 0; // some sessions span several sectors
    const value = big ? 'x'.repeat(600 + prng.int(1500)) : prng.int(1_000_000);
    out[`a${prng.int(6)}`] = JSON.stringify({ v: value });
  }
  return out;
}

/**
 * Runs `steps` turns of 1-4 concurrent operations (so group commit batches them) plus
 * occasional flushes and compactions. Never throws: after a crash every call fails and
 * the run stops.
 */
export async function runWorkload(fs: SimFileSystem, seed: number, steps: number): Promise<WorkloadRun> {
  const prng = new Prng(seed);
  const clock = new ManualClock();
  const changes: Change[] = [];
  const run: WorkloadRun = { changes, ackedLsn: 0, engine: undefined, opened: false, errors: [] };
  const failed = (e: unknown): undefined => {
    run.errors.push(e);
    return undefined;
  };
  try {
    run.engine = await SessionEngine.open(engineOptions(fs, clock, (c) => changes.push(c)));
  } catch (e) {
    failed(e);
    return run;
  }
  run.opened = true;
  const engine = run.engine;
  const live: string[] = [];
  const track = (p: Promise<unknown>, before: number): Promise<void> => {
    const lsn = changes.length > before ? changes[changes.length - 1]!.lsn : 0;
    return p.then(
      () => {
        if (lsn > run.ackedLsn) run.ackedLsn = lsn;
      },
      failed,
    );
  };
  for (let step = 0; step < steps && engine.readOnlyReason === undefined; step++) {
    const turn: Promise<void>[] = [];
    const ops = 1 + prng.int(4);
    for (let i = 0; i < ops; i++) {
      const before = changes.length;
      const r = prng.int(100);
      if (r < 40 || live.length === 0) {
        const id = live.length > 0 && prng.bool(0.5) ? prng.pick(live) : makeId(prng);
        if (!live.includes(id)) live.push(id);
        turn.push(track(engine.save(id, { attributes: randomAttrs(prng) }), before));
      } else if (r < 60) {
        const id = prng.pick(live);
        const remove = prng.bool(0.3) ? [`a${prng.int(6)}`] : [];
        turn.push(track(engine.patch(id, { set: { [`a${prng.int(6)}`]: String(prng.int(1000)) }, remove }), before));
      } else if (r < 75) {
        const id = prng.pick(live);
        turn.push(track(engine.touch(id, { expiresAtMs: clock.now() + 3_600_000 + prng.int(1000) }), before));
      } else if (r < 88) {
        const id = live.splice(prng.int(live.length), 1)[0]!;
        turn.push(track(engine.destroy(id), before));
      } else if (r < 97) {
        turn.push(engine.flush().catch(failed));
      } else {
        turn.push(engine.compact().then(() => undefined, failed));
      }
    }
    await Promise.all(turn);
  }
  return run;
}

/** S_k for every k: the expected store after the first k changes. */
export function expectedStates(changes: readonly Change[]): Array<Map<string, string>> {
  const states: Array<Map<string, string>> = [new Map()];
  let cur = new Map<string, string>();
  for (const c of changes) {
    cur = new Map(cur);
    if (c.state === undefined) cur.delete(c.id);
    else cur.set(c.id, fingerprint(c.state));
    states.push(cur);
  }
  return states;
}

export function actualState(engine: SessionEngine): Map<string, string> {
  return new Map(engine.all().map((s) => [s.id, fingerprint(s)]));
}

function sameMap(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

/**
 * The index k such that `actual` equals S_k and every acknowledged change is in S_k,
 * or a description of why none exists.
 */
export function matchPrefix(changes: readonly Change[], ackedLsn: number, actual: Map<string, string>): { k: number } | { error: string } {
  const states = expectedStates(changes);
  let firstAllowed = 0;
  changes.forEach((c, i) => {
    if (c.lsn <= ackedLsn) firstAllowed = i + 1;
  });
  for (let k = firstAllowed; k < states.length; k++) if (sameMap(states[k]!, actual)) return { k };
  const last = states[states.length - 1]!;
  const missing = [...states[firstAllowed]!.keys()].filter((id) => !actual.has(id)).length;
  const extra = [...actual.keys()].filter((id) => !last.has(id) && !states[firstAllowed]!.has(id)).length;
  return {
    error: `recovered ${actual.size} sessions match no allowed prefix (changes ${changes.length}, acked through change ${firstAllowed}, missing ${missing}, unexpected ${extra})`,
  };
}

/** Opens the store on `fs` and returns its sessions, closing it again. */
export async function reopenState(fs: SimFileSystem): Promise<Map<string, string>> {
  const engine = await SessionEngine.open(engineOptions(fs, new ManualClock()));
  try {
    return actualState(engine);
  } finally {
    await engine.close();
  }
}

/** Counts the file-system operations a full, crash-free run of the workload performs. */
export async function countOps(seed: number, steps: number): Promise<number> {
  const fs = new SimFileSystem();
  const run = await runWorkload(fs, seed, steps);
  await run.engine?.close();
  return fs.opCount;
}

/** Turns of the workload in every crash case. */
export const WORKLOAD_STEPS = 30;

export interface CrashCase {
  seed: number;
  /** the file-system operation the power fails at */
  crashOp: number;
  /** the operation of the recovery the power fails at again (0 = none) */
  recoveryCrashOp: number;
}

/** Runs one crash case; resolves an error text or undefined when the store is right. */
export async function runCrashCase(c: CrashCase, steps = WORKLOAD_STEPS): Promise<string | undefined> {
  const fs = new SimFileSystem();
  fs.crashAtOp(c.crashOp, c.seed * 7919 + c.crashOp);
  const run = await runWorkload(fs, c.seed, steps);
  await run.engine?.close().catch(() => undefined);
  let survivor = fs.crashed ?? fs.crash(c.seed);
  if (c.recoveryCrashOp > 0) {
    survivor.crashAtOp(c.recoveryCrashOp, c.seed + c.recoveryCrashOp);
    const e = await SessionEngine.open(engineOptions(survivor, new ManualClock())).catch(() => undefined);
    await e?.close().catch(() => undefined);
    survivor = survivor.crashed ?? survivor.crash(c.seed + 1);
  }
  const actual = await reopenState(survivor);
  const m = matchPrefix(run.changes, run.ackedLsn, actual);
  return 'error' in m ? `${JSON.stringify(c)}: ${m.error}` : undefined;
}

