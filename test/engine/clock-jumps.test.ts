/**
 * A wall clock stepped back never brings an expired or destroyed session back, in the
 * process or after a crash (kind: unit, on the simulated file layer; docs/durability.md,
 * clock jumps). Regressions: expiry read the wall clock as is; destroying a session that
 * had just expired wrote no record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import type { EngineOptionsInput } from '../../src/options.js';

const DIR = '/s';
const A = 'AAAAAAAAAAAAAAAAAAAAAAAA';
const B = 'BBBBBBBBBBBBBBBBBBBBBBBB';
const T0 = 1_700_000_000_000;

function opts(fs: SimFileSystem, clock: ManualClock): EngineOptionsInput {
  return { dir: DIR, fs, clock, flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000 };
}

test('a step back of the wall clock does not revive an expired session; a step forward expires it for good', async () => {
  const clock = new ManualClock(T0);
  const e = await SessionEngine.open(opts(new SimFileSystem(), clock));
  await e.save(A, { attributes: {}, expiresAtMs: T0 + 1000 });
  clock.set(T0 + 5000); // a forward step: A expires early
  assert.equal(e.get(A), undefined);
  clock.set(T0); // the step is corrected
  assert.equal(e.get(A), undefined, 'expired once, expired for good');
  assert.equal(e.count(), 0);
  assert.equal(e.clock.now(), T0 + 5000, 'the engine clock holds its floor');
  clock.set(T0 + 6000);
  assert.equal(e.clock.now(), T0 + 6000, 'and moves on once the wall clock passes it');
  await e.close();
});

test('after a crash and a step back of the wall clock, recovery restores the clock floor from the files', async () => {
  const fs = new SimFileSystem();
  const clock = new ManualClock(T0);
  const e = await SessionEngine.open(opts(fs, clock));
  await e.save(A, { attributes: {}, expiresAtMs: T0 + 1000 });
  clock.set(T0 + 5000);
  await e.save(B, { attributes: {} }); // the store has seen T0 + 5000
  const survivor = fs.crash(1);
  const back = new ManualClock(T0); // the machine restarts with its clock behind
  const e2 = await SessionEngine.open(opts(survivor, back));
  assert.equal(e2.get(A), undefined, 'A expired before the crash and stays expired');
  assert.ok(e2.clock.now() >= T0 + 5000, `floor restored, got ${e2.clock.now() - T0} ms after T0`);
  assert.notEqual(e2.get(B), undefined);
  await e2.close();
});

test('destroying a session that has just expired is logged, so neither a step back nor a restart revives it', async () => {
  const fs = new SimFileSystem();
  const clock = new ManualClock(T0);
  const e = await SessionEngine.open(opts(fs, clock));
  await e.save(A, { attributes: { user: '"ann"' }, expiresAtMs: T0 + 100 });
  clock.set(T0 + 150);
  assert.equal(await e.destroy(A), false, 'no live session was destroyed');
  clock.set(T0);
  assert.equal(e.get(A), undefined, 'in the process');
  const survivor = fs.crash(2);
  const e2 = await SessionEngine.open(opts(survivor, new ManualClock(T0)));
  assert.equal(e2.get(A), undefined, 'after a crash, with the clock behind');
  assert.equal(e2.isDestroyed(A), true, 'and its tombstone refuses late saves');
  await e2.close();
});
