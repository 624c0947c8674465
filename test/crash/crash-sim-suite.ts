import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Durability } from '../../src/log/log-writer.js';
import { Prng } from '../../src/util/prng.js';
import { countOps, runCrashCase, type CrashCase } from './crash-harness.js';

/** Crash points in all (one per epoch of a case); `npm run test:crash-long` runs 1,000,000. */
const POINTS = Number(process.env.SESSIOND_CRASH_POINTS ?? 6_000);
const BASE_SEED = Number(process.env.SESSIOND_CRASH_SEED ?? 1);
const EPOCHS = 3;
const HALVES = 2;
const FAILURES_MAX = 5;
/** Half the seeds run 'fsync', the default; the rest are split between the weaker levels. */
const DURABILITIES: readonly Durability[] = ['fsync', 'interval', 'fsync', 'none'];

/**
 * The cases of one seed: the first epoch's crash enumerates every file-system operation of
 * the seed's crash-free first epoch (and the point after its last one); the later epochs
 * crash at operations drawn from the seed, sometimes only after their last turn.
 */
function casesOfSeed(seed: number, durability: Durability, ops: number, cacheBytesMax: number | undefined, encrypt: boolean | undefined): CrashCase[] {
  const out: CrashCase[] = [];
  for (let op = 1; op <= ops + 1; op++) {
    const prng = new Prng(seed * 1_000_003 + op);
    const later = Array.from({ length: EPOCHS - 1 }, () => (prng.int(10) === 0 ? 0 : 1 + prng.int(ops)));
    out.push({ seed, durability, crashOps: [op > ops ? 0 : op, ...later], ...(cacheBytesMax === undefined ? {} : { cacheBytesMax }), ...(encrypt === undefined ? {} : { encrypt }) });
  }
  return out;
}

/**
 * Runs half `half` (0 or 1) of the crash points: seeds alternate between the halves. With
 * `evict`, the engine runs under that cacheBytesMax and `points` crash points in all;
 * `encrypt` seals in every case (else odd seed pairs do), `seedOffset` starts the seeds
 * there (after BASE_SEED) so a configuration explores seeds of its own.
 */
export function crashSimTest(half: number, evict?: { cacheBytesMax: number; points: number; encrypt?: boolean; seedOffset?: number; what?: string }): void {
  const points = Math.ceil((evict?.points ?? POINTS) / HALVES);
  const cacheBytesMax = evict?.cacheBytesMax;
  const encrypt = evict?.encrypt;
  const firstSeed = BASE_SEED + (evict?.seedOffset ?? 0);
  const what = evict === undefined ? '' : ` with cacheBytesMax ${evict.cacheBytesMax} (${evict.what ?? 'every session the database file holds is evicted'}), seeds from ${firstSeed}`;
  test(`no acknowledged change is lost, no destroyed session returns, no hole, across ${points} enumerated crash points in ${EPOCHS}-epoch cases under every durability level${what} (half ${half + 1} of ${HALVES})`, { timeout: Infinity }, async () => {
    const failures: string[] = [];
    let done = 0;
    for (let s = half; done < points && failures.length < FAILURES_MAX; s += HALVES) {
      const seed = firstSeed + s;
      const durability = DURABILITIES[seed % DURABILITIES.length]!;
      const ops = await countOps(seed, durability, undefined, cacheBytesMax, encrypt);
      for (const c of casesOfSeed(seed, durability, ops, cacheBytesMax, encrypt)) {
        if (done >= points || failures.length >= FAILURES_MAX) break;
        const err = await runCrashCase(c);
        if (err !== undefined) failures.push(err);
        done += EPOCHS;
      }
    }
    assert.deepEqual(failures, [], `crash cases failed (add them to crash-regressions.test.ts):\n${failures.join('\n')}`);
  });
}
