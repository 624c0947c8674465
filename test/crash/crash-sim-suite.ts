import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../src/util/prng.js';
import { countOps, runCrashCase, WORKLOAD_STEPS, type CrashCase } from './crash-harness.js';

const POINTS = Number(process.env.SESSIOND_CRASH_POINTS ?? 10_000);
const POINTS_PER_SEED = 100;
const BASE_SEED = Number(process.env.SESSIOND_CRASH_SEED ?? 1);
const HALVES = 2;
const FAILURES_MAX = 5;

/** Runs half `half` (0 or 1) of the crash points: seeds alternate between the halves. */
export function crashSimTest(half: number): void {
  const points = Math.ceil(POINTS / HALVES);
  test(`no acknowledged change is lost and no destroyed session returns across ${points} seeded crash points (half ${half + 1} of ${HALVES})`, { timeout: Infinity }, async () => {
    const failures: string[] = [];
    let done = 0;
    for (let s = half; done < points && failures.length < FAILURES_MAX; s += HALVES) {
      const seed = BASE_SEED + s;
      const ops = await countOps(seed, WORKLOAD_STEPS);
      const prng = new Prng(seed);
      for (let j = 0; j < POINTS_PER_SEED && done < points && failures.length < FAILURES_MAX; j++, done++) {
        const c: CrashCase = { seed, crashOp: 1 + prng.int(ops), recoveryCrashOp: j % 4 === 0 ? 1 + prng.int(80) : 0 };
        const err = await runCrashCase(c);
        if (err !== undefined) failures.push(err);
      }
    }
    assert.deepEqual(failures, [], `crash cases failed (add them to crash-regressions.test.ts):\n${failures.join('\n')}`);
  });
}
