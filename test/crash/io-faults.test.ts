/**
 * I/O faults (kind: fault injection, seeded). For every file-system call index of a
 * scripted workload, that call fails with EIO or ENOSPC, once (transient) or from then on
 * (persistent), during normal work and during recovery. Each time: every failure reaches
 * the caller as a typed SessiondError, nothing acknowledged is lost, and the store reopens
 * consistently once the disk behaves again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { isSessiondError } from '../../src/errors.js';
import { engineOptions, matchPrefix, reopenState, runWorkload } from './crash-harness.js';

const SEED = 11;
const STEPS = 12;
const CODES = ['EIO', 'ENOSPC'] as const;

function untyped(errors: unknown[]): string[] {
  return errors.filter((e) => !isSessiondError(e)).map((e) => String((e as Error)?.stack ?? e));
}

async function opsOfWorkload(): Promise<number> {
  const fs = new SimFileSystem();
  const run = await runWorkload(fs, SEED, STEPS);
  await run.engine?.close();
  return fs.opCount;
}

test('a failing call at every index of a workload: typed errors, nothing acknowledged lost, consistent reopen', { timeout: Infinity }, async () => {
  const ops = await opsOfWorkload();
  assert.ok(ops > 50, `the workload should exercise many calls, did ${ops}`);
  const problems: string[] = [];
  for (let nth = 1; nth <= ops; nth++) {
    for (const code of CODES) {
      for (const persistent of [false, true]) {
        const fs = new SimFileSystem();
        fs.injectFault({ nth, code, persistent });
        const run = await runWorkload(fs, SEED, STEPS);
        await run.engine?.close().catch((e: unknown) => run.errors.push(e));
        fs.clearFaults();
        const where = `call ${nth} ${code}${persistent ? ' persistent' : ''}`;
        problems.push(...untyped(run.errors).map((e) => `${where}: untyped error ${e}`));
        const m = matchPrefix(run.changes, run.ackedLsn, await reopenState(fs));
        if ('error' in m) problems.push(`${where}: ${m.error}`);
        if (problems.length > 5) break;
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('a failing call at every index of recovery: typed error, then a consistent reopen', { timeout: Infinity }, async () => {
  // The store as a power loss left it, rebuilt from the seed for every fault.
  const crashed = async (): Promise<{ fs: SimFileSystem; run: Awaited<ReturnType<typeof runWorkload>> }> => {
    const fs = new SimFileSystem();
    fs.crashAtOp(400, SEED);
    const run = await runWorkload(fs, SEED, STEPS * 3);
    await run.engine?.close().catch(() => undefined);
    return { fs: fs.crashed ?? fs.crash(SEED), run };
  };
  const probe = await crashed();
  const before = probe.fs.opCount;
  await (await SessionEngine.open(engineOptions(probe.fs, new ManualClock()))).close();
  const recoveryOps = probe.fs.opCount - before;
  assert.ok(recoveryOps > 10);
  const problems: string[] = [];
  for (let nth = 1; nth <= recoveryOps; nth++) {
    for (const code of CODES) {
      const { fs, run } = await crashed();
      fs.injectFault({ nth, code, persistent: true });
      const e = await SessionEngine.open(engineOptions(fs, new ManualClock())).catch((err: unknown) => err);
      if (e instanceof SessionEngine) await e.close().catch(() => undefined);
      else if (!isSessiondError(e)) problems.push(`recovery call ${nth} ${code}: untyped ${String((e as Error)?.stack ?? e)}`);
      fs.clearFaults();
      const m = matchPrefix(run.changes, run.ackedLsn, await reopenState(fs));
      if ('error' in m) problems.push(`recovery call ${nth} ${code}: ${m.error}`);
    }
  }
  assert.deepEqual(problems, []);
});
