/**
 * A wall clock stepped back never brings an expired or destroyed session back, in the
 * process or after a crash (kind: unit, on the simulated file layer; docs/durability.md,
 * clock jumps). Regressions: expiry read the wall clock as is; destroying a session that
 * had just expired wrote no record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock, MonotonicClock } from '../../src/clock.js';
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

test('after a clean close that left only the tombstone file holding the latest time, a reopen with the clock behind keeps the floor', async () => {
  const fs = new SimFileSystem();
  const clock = new ManualClock(T0);
  const e = await SessionEngine.open(opts(fs, clock));
  await e.save(A, { attributes: {} });
  clock.set(T0 + 5000);
  assert.equal(await e.destroy(A), true); // the store's last time is the destroy's, T0 + 5000
  await e.close();
  const e2 = await SessionEngine.open(opts(fs, new ManualClock(T0)));
  assert.ok(e2.clock.now() >= T0 + 5000, `floor from the tombstone file, got ${e2.clock.now() - T0} ms after T0`);
  assert.equal(e2.isDestroyed(A), true);
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

test('the clock floor forwards the wall clock timers: a ManualClock moved by hand drives the engine flusher', async () => {
  const wall = new ManualClock(T0, { timers: true });
  const floor = new MonotonicClock(wall);
  let fired = 0;
  const cancel = floor.setInterval!(() => fired++, 100);
  wall.advance(250);
  assert.equal(fired, 2, 'the floor clock fires on the wall clock timers');
  cancel();
  wall.advance(1000);
  assert.equal(fired, 2, 'cancelled through the floor clock');
  assert.equal(new MonotonicClock(new ManualClock(T0)).setInterval, undefined, 'a clock without timers gets real ones (startInterval)');

  const e = await SessionEngine.open({ dir: DIR, fs: new SimFileSystem(), clock: wall, flushIntervalMs: 1_000, expiryIntervalMs: 3_600_000 });
  await e.save(A, { attributes: {} });
  await e.save(B, { attributes: {} });
  assert.equal((await e.stats()).flush.cycles, 0);
  wall.advance(1_000); // one flush tick, no real wait
  for (let i = 0; i < 100 && (await e.stats()).flush.sessionsWritten < 2; i++) await new Promise((r) => setImmediate(r));
  assert.equal((await e.stats()).flush.sessionsWritten, 2, 'the flush timer ran on the manual clock');
  await e.close();
});
