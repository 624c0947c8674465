/**
 * I/O faults (kind: fault injection, seeded). For every file-system call index of a
 * scripted workload, that call fails with EIO or ENOSPC, once (transient) or from then on
 * (persistent), during normal work and during recovery. A failed fdatasync drops the file's
 * unsynced writes for good (all of them, or sectors drawn from the seed), as Linux may.
 * Each time: every failure reaches the caller as a typed SessiondError, and nothing
 * acknowledged is lost, neither after a process crash (the page cache survives) nor after a
 * power loss right after the run (only what was really synced survives): a build that
 * retries a failed fdatasync and then acknowledges fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { isSessiondError } from '../../src/errors.js';
import { CLOCK_START_MS, engineOptions, matchPrefix, reopenStore, runWorkload, type WorkloadRun } from './crash-harness.js';

const SEED = 11;
const STEPS = 12;
const CODES = ['EIO', 'ENOSPC'] as const;

function untyped(errors: unknown[]): string[] {
  return errors.filter((e) => !isSessiondError(e)).map((e) => String((e as Error)?.stack ?? e));
}

const timersClock = (): ManualClock => new ManualClock(CLOCK_START_MS, { timers: true });

async function opsOfWorkload(): Promise<number> {
  const fs = new SimFileSystem(SEED);
  const run = await runWorkload(fs, { seed: SEED, steps: STEPS, clock: timersClock() });
  await run.engine?.close();
  return fs.opCount;
}

/** Every acknowledged change is in the store `fs` holds, opened at `clock`'s time. */
async function keptAcked(fs: SimFileSystem, run: WorkloadRun, clock: ManualClock): Promise<string | undefined> {
  const m = matchPrefix({ base: new Map(), changes: run.changes, keptLsn: run.ackedLsn }, await reopenStore(fs, clock), clock.now());
  return 'error' in m ? m.error : undefined;
}

test('a failing call at every index of a workload: typed errors, nothing acknowledged lost after a process crash or a power loss', { timeout: Infinity }, async () => {
  const ops = await opsOfWorkload();
  assert.ok(ops > 50, `the workload should exercise many calls, did ${ops}`);
  const problems: string[] = [];
  for (let nth = 1; nth <= ops && problems.length <= 5; nth++) {
    for (const code of CODES) {
      for (const persistent of [false, true]) {
        const fs = new SimFileSystem(SEED + nth);
        fs.injectFault({ nth, code, persistent, syncLoss: persistent ? 'seeded' : 'all' });
        const clock = timersClock();
        const run = await runWorkload(fs, { seed: SEED, steps: STEPS, clock });
        // Before close() flushes everything into the database file: what the log really synced.
        const power = fs.peekCrash(SEED + nth, { mode: 'drop-all' });
        await run.engine?.close().catch((e: unknown) => run.errors.push(e));
        fs.clearFaults();
        const where = `call ${nth} ${code}${persistent ? ' persistent' : ''}`;
        problems.push(...untyped(run.errors).map((e) => `${where}: untyped error ${e}`));
        const powerLoss = await keptAcked(power, run, clock);
        if (powerLoss !== undefined) problems.push(`${where}, then a power loss: ${powerLoss}`);
        const processCrash = await keptAcked(fs, run, clock);
        if (processCrash !== undefined) problems.push(`${where}, then a process crash: ${processCrash}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test("a failed fdatasync at every sync of an 'interval' or 'none' workload: typed errors, a process crash keeps every acknowledged change, a power loss every flushed one", { timeout: Infinity }, async () => {
  const problems: string[] = [];
  for (const durability of ['interval', 'none'] as const) {
    const probe = new SimFileSystem(SEED);
    const dry = await runWorkload(probe, { seed: SEED, steps: STEPS, clock: timersClock(), durability });
    await dry.engine?.close();
    const syncs = probe.opCounts.datasync;
    assert.ok(syncs > 5, `the workload should sync several times, did ${syncs}`);
    for (let nth = 1; nth <= syncs && problems.length <= 5; nth++) {
      const fs = new SimFileSystem(SEED + nth);
      fs.injectFault({ op: 'datasync', nth, code: 'EIO', syncLoss: nth % 2 === 0 ? 'seeded' : 'all' });
      const clock = timersClock();
      const run = await runWorkload(fs, { seed: SEED, steps: STEPS, clock, durability });
      const power = fs.peekCrash(SEED + nth, { mode: 'drop-all' });
      await run.engine?.close().catch((e: unknown) => run.errors.push(e));
      const where = `${durability} datasync ${nth}`;
      problems.push(...untyped(run.errors).map((e) => `${where}: untyped error ${e}`));
      const flushed = matchPrefix({ base: new Map(), changes: run.changes, keptLsn: run.flushedLsn }, await reopenStore(power, clock), clock.now());
      if ('error' in flushed) problems.push(`${where}, then a power loss: ${flushed.error}`);
      const processCrash = await keptAcked(fs, run, clock);
      if (processCrash !== undefined) problems.push(`${where}, then a process crash: ${processCrash}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('a failing call at every index of recovery: typed error, then a consistent reopen', { timeout: Infinity }, async () => {
  // The store as a power loss left it, rebuilt from the seed for every fault.
  const crashed = async (): Promise<{ fs: SimFileSystem; run: WorkloadRun; clock: ManualClock }> => {
    const fs = new SimFileSystem(SEED);
    fs.crashAtOp(400, SEED);
    const clock = new ManualClock(CLOCK_START_MS);
    const run = await runWorkload(fs, { seed: SEED, steps: STEPS * 3, clock });
    await run.engine?.close().catch(() => undefined);
    return { fs: fs.crashed ?? fs.crash(SEED), run, clock };
  };
  const probe = await crashed();
  const before = probe.fs.opCount;
  await (await SessionEngine.open(engineOptions(probe.fs, probe.clock))).close();
  const recoveryOps = probe.fs.opCount - before;
  assert.ok(recoveryOps > 10);
  const problems: string[] = [];
  for (let nth = 1; nth <= recoveryOps; nth++) {
    for (const code of CODES) {
      const { fs, run, clock } = await crashed();
      fs.injectFault({ nth, code, persistent: true });
      const e = await SessionEngine.open(engineOptions(fs, clock)).catch((err: unknown) => err);
      if (e instanceof SessionEngine) await e.close().catch(() => undefined);
      else if (!isSessiondError(e)) problems.push(`recovery call ${nth} ${code}: untyped ${String((e as Error)?.stack ?? e)}`);
      fs.clearFaults();
      const m = await keptAcked(fs, run, clock);
      if (m !== undefined) problems.push(`recovery call ${nth} ${code}: ${m}`);
    }
  }
  assert.deepEqual(problems, []);
});
