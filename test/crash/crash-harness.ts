/**
 * Crash simulation harness: a case runs several epochs on the simulated file layer. Each
 * epoch opens the store (recovering what the last crash left, and checking it against the
 * oracle, crash-oracle.ts), runs a seeded workload (crash-workload.ts) while the clock
 * moves, and then the power fails at a chosen file-system operation, counted from the
 * epoch's open (so recovery itself is crashed too): unsynced writes applied, dropped or torn
 * per sector, unsynced directory entries kept or lost. Some epochs end in a process crash
 * instead (the page cache survives). After the last epoch a final open checks the store.
 *
 * What must survive depends on the durability level (docs/durability.md):
 * - process crash, every level: every acknowledged change;
 * - power loss, 'fsync': every acknowledged change;
 * - power loss, 'interval' and 'none': every change acknowledged before a flush() or
 *   compact() that resolved; the rest an in-order prefix (never a hole).
 */
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { isSessiondError } from '../../src/errors.js';
import { SimFileSystem, type CrashMode } from '../../src/fs/sim-file-system.js';
import type { Durability } from '../../src/log/log-writer.js';
import { Prng } from '../../src/util/prng.js';
import { actualStore, actualStoreRead, matchPrefix, principalIndexError, type EpochOracle, type Store } from './crash-oracle.js';
import { engineOptions, runWorkload } from './crash-workload.js';

export { STORE_DIR, engineOptions, runWorkload, type WorkloadRun } from './crash-workload.js';
export { fingerprint, matchPrefix, type Change } from './crash-oracle.js';

/** Turns of the workload per epoch. */
export const EPOCH_STEPS = 16;
export const CLOCK_START_MS = 1_700_000_000_000;

export interface CrashCase {
  seed: number;
  durability: Durability;
  /** Per epoch, the operation (from the epoch's open) the crash hits; 0: after the epoch's last turn. */
  crashOps: readonly number[];
  /** The engine's cacheBytesMax (absent: no bound): a tiny one makes every read and write meet evicted sessions. */
  cacheBytesMax?: number;
  /** Seal attributes in every epoch (absent: odd seed pairs do, `encrypts`). */
  encrypt?: boolean;
}

/**
 * A simulated crash tears only unsynced writes: a store it leaves is never corrupt. And the
 * harness gives every key it ever sealed under, so a missing key is a bug too (a cold
 * session read back without the keys, say).
 */
const CORRUPT_CODES: ReadonlySet<string> = new Set(['SESSIOND_LOG_CORRUPT', 'SESSIOND_DB_CORRUPT', 'SESSIOND_RECORD_CORRUPT', 'SESSIOND_KEY_MISSING']);

/**
 * Errors a crash legitimately causes are typed; anything else (an assertion, a TypeError)
 * is a bug, and so is a corruption error (a false alarm).
 */
function untyped(errors: readonly unknown[]): string | undefined {
  const e = errors.find((x) => !isSessiondError(x) || CORRUPT_CODES.has(x.code));
  if (e === undefined) return undefined;
  return isSessiondError(e) ? `corruption reported after a crash: ${e.message}` : `untyped error: ${String((e as Error)?.stack ?? e)}`;
}

function crashMode(seed: number, epoch: number, op: number): CrashMode {
  return new Prng(seed * 31 + epoch * 7 + op).int(8) === 0 ? 'keep-all' : 'tear';
}

/** Odd seeds seal attributes, under a key that rotates with the clock across epochs (and crashes). */
function encrypts(seed: number): boolean {
  return Math.floor(seed / 2) % 2 === 1;
}

/** The seed of epoch `epoch`'s workload. */
function epochSeed(seed: number, epoch: number): number {
  return seed * 1_000 + epoch;
}

/** Runs one crash case; resolves an error text or undefined when the store was right after every crash. */
export async function runCrashCase(c: CrashCase, steps = EPOCH_STEPS): Promise<string | undefined> {
  const clock = new ManualClock(CLOCK_START_MS, { timers: true });
  let fs = new SimFileSystem(c.seed);
  let pending: EpochOracle | undefined;
  let atOpen: Store = new Map();
  const where = (epoch: number): string => `${JSON.stringify(c)} epoch ${epoch + 1}`;
  /** Checks what the last crash left; the epoch then builds on the store as opened. */
  const check = (epoch: number) => async (engine: SessionEngine): Promise<string | undefined> => {
    atOpen = await actualStoreRead(engine);
    const indexError = await principalIndexError(engine);
    if (indexError !== undefined) return `${where(epoch)}: ${indexError}`;
    if (pending === undefined) return undefined;
    const m = matchPrefix(pending, atOpen, clock.now());
    return 'error' in m ? `${where(epoch)}: ${m.error}` : undefined;
  };
  for (let epoch = 0; epoch < c.crashOps.length; epoch++) {
    const op = c.crashOps[epoch]!;
    const mode = crashMode(c.seed, epoch, op);
    if (op > 0) fs.crashAtOp(op, c.seed * 7919 + epoch * 104_729 + op, { mode });
    const run = await runWorkload(fs, { seed: epochSeed(c.seed, epoch), steps, clock, durability: c.durability, cacheBytesMax: c.cacheBytesMax, onOpen: check(epoch), encrypt: c.encrypt ?? encrypts(c.seed) });
    if (run.openError !== undefined) return run.openError;
    // The live index too (expiry and flushes ran under the workload), not only the rebuilt one.
    const liveIndexError = run.engine === undefined ? undefined : await principalIndexError(run.engine, 'memory');
    if (liveIndexError !== undefined) return `${where(epoch)}: live ${liveIndexError}`;
    const survivor = fs.crashed ?? fs.crash(c.seed + epoch, { mode });
    await run.engine?.close().catch(() => undefined); // on the dead file layer: only stops its timers
    const bug = untyped(run.errors);
    if (bug !== undefined) return `${where(epoch)}: ${bug}`;
    // A crash during the open (recovery) leaves the last oracle standing.
    if (run.opened) {
      const keptLsn = mode === 'keep-all' || c.durability === 'fsync' ? run.ackedLsn : run.flushedLsn;
      pending = { base: atOpen, changes: run.changes, keptLsn };
    }
    fs = survivor;
  }
  let engine: SessionEngine;
  try {
    engine = await SessionEngine.open(engineOptions(fs, clock, c.durability, undefined, c.encrypt ?? encrypts(c.seed), c.cacheBytesMax));
  } catch (e) {
    return `${where(c.crashOps.length)}: the final open failed: ${String(e)}`;
  }
  try {
    return await check(c.crashOps.length)(engine);
  } finally {
    await engine.close();
  }
}

/** Opens the store on `fs` and returns its sessions, closing it again. */
export async function reopenStore(fs: SimFileSystem, clock = new ManualClock(CLOCK_START_MS)): Promise<Store> {
  const engine = await SessionEngine.open(engineOptions(fs, clock, 'fsync', undefined, true));
  try {
    return actualStore(engine);
  } finally {
    await engine.close();
  }
}

/** Counts the file-system operations of a crash-free epoch (its open included). */
export async function countOps(seed: number, durability: Durability, steps = EPOCH_STEPS, cacheBytesMax?: number, encrypt?: boolean): Promise<number> {
  const fs = new SimFileSystem(seed);
  const run = await runWorkload(fs, { seed: epochSeed(seed, 0), steps, clock: new ManualClock(CLOCK_START_MS, { timers: true }), durability, cacheBytesMax, encrypt: encrypt ?? encrypts(seed) });
  await run.engine?.close();
  return fs.opCount;
}
