/**
 * Tombstones survive a restart for `tombstoneMs` (kind: crash simulation, every file-system
 * operation of the workload is a crash point). Regression: they lived only in memory, so a
 * late save for a session destroyed just before a crash was accepted after the restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { isSessiondError } from '../../src/errors.js';
import type { EngineOptionsInput } from '../../src/options.js';

const DIR = '/s';
const VICTIM = 'VVVVVVVVVVVVVVVVVVVVVVVV';
/** Destroyed just before the close: at the reopen its tombstone is only in the logs, which the open resets. */
const LAST = 'LLLLLLLLLLLLLLLLLLLLLLLL';
const TOMBSTONE_MS = 60_000;
const T0 = 1_700_000_000_000;

function opts(fs: SimFileSystem, clock: ManualClock): EngineOptionsInput {
  // Small logs: the workload swaps and resets them, so the destroy's record is reset away.
  return { dir: DIR, fs, clock, tombstoneMs: TOMBSTONE_MS, logSwapBytes: 4096, flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000 };
}

const filler = (i: number): string => `F${String(i % 7).padStart(23, '0')}`;

interface Acked {
  destroyedAtMs?: number;
  lastDestroyedAtMs?: number;
}

/** Destroy the victim, then enough writes to reset every log, a reopen (which resets them too), more writes. */
async function workload(fs: SimFileSystem, clock: ManualClock, acked: Acked): Promise<void> {
  let e = await SessionEngine.open(opts(fs, clock));
  try {
    await e.save(VICTIM, { attributes: { user: '"ann"' } });
    clock.advance(10);
    const at = clock.now();
    await e.destroy(VICTIM);
    acked.destroyedAtMs = at;
    for (let i = 0; i < 25; i++) {
      clock.advance(10);
      await e.save(filler(i), { attributes: { n: String(i), pad: JSON.stringify('p'.repeat(200)) } });
    }
    await e.save(LAST, { attributes: {} });
    const lastAt = clock.now();
    await e.destroy(LAST);
    acked.lastDestroyedAtMs = lastAt;
    await e.close();
    e = await SessionEngine.open(opts(fs, clock));
    for (let i = 0; i < 10; i++) {
      clock.advance(10);
      await e.save(filler(i), { attributes: { n: String(-i), pad: JSON.stringify('q'.repeat(200)) } });
    }
  } finally {
    await e.close().catch(() => undefined);
  }
}

async function lateSave(e: SessionEngine, id = VICTIM): Promise<unknown> {
  try {
    await e.save(id, { attributes: { user: '"ann"', late: 'true' } });
    return undefined;
  } catch (err) {
    return err;
  }
}

test('a late save for a session destroyed before a crash at any point is refused for tombstoneMs after the destroy, accepted after', async () => {
  const dry = new SimFileSystem();
  await workload(dry, new ManualClock(T0), {});
  const ops = dry.opCount;
  assert.ok(ops > 150, `the workload should span many operations, got ${ops}`);
  let checked = 0;
  for (let k = 1; k <= ops + 1; k++) {
    const fs = new SimFileSystem();
    const clock = new ManualClock(T0);
    const acked: Acked = {};
    fs.crashAtOp(k, k);
    const failed = await workload(fs, clock, acked).then(() => undefined, (err: unknown) => err);
    if (failed !== undefined && fs.crashed === undefined) assert.fail(`crash at op ${k}: the workload failed before the crash: ${String(failed)}`);
    if (acked.destroyedAtMs === undefined) continue; // the destroy was never acknowledged: nothing promised
    // Background flushes make the op count vary a little between runs: past the end, crash there.
    const survivor = fs.crashed ?? fs.crash(k);
    const restarted = new ManualClock(acked.destroyedAtMs + TOMBSTONE_MS - 1);
    const e = await SessionEngine.open(opts(survivor, restarted)).catch((err: unknown) => assert.fail(`crash at op ${k}: reopen failed: ${String(err)}`));
    assert.equal(e.get(VICTIM), undefined, `crash at op ${k}: the destroyed session is gone`);
    const err = await lateSave(e);
    assert.ok(isSessiondError(err, 'SESSIOND_SESSION_DESTROYED'), `crash at op ${k}: late save refused, got ${String(err)}`);
    if (acked.lastDestroyedAtMs !== undefined) {
      assert.equal(e.get(LAST), undefined, `crash at op ${k}: the session destroyed before the reopen is gone`);
      const errLast = await lateSave(e, LAST);
      assert.ok(isSessiondError(errLast, 'SESSIOND_SESSION_DESTROYED'), `crash at op ${k}: late save of the last one refused, got ${String(errLast)}`);
    }
    restarted.advance(1);
    assert.equal(await lateSave(e), undefined, `crash at op ${k}: a save after tombstoneMs is accepted`);
    await e.close();
    checked++;
  }
  assert.ok(checked > ops / 2, `most crash points come after the acknowledged destroy (${checked} of ${ops})`);
});

test('a tombstone also survives several restarts in a row within tombstoneMs (each reopen resets the logs)', async () => {
  const fs = new SimFileSystem();
  const clock = new ManualClock(T0);
  let e = await SessionEngine.open(opts(fs, clock));
  await e.save(VICTIM, { attributes: {} });
  await e.destroy(VICTIM);
  await e.close();
  for (let i = 0; i < 3; i++) {
    clock.advance(1000);
    e = await SessionEngine.open(opts(fs, clock));
    assert.equal(e.isDestroyed(VICTIM), true, `restart ${i}`);
    await e.close();
  }
  clock.set(T0 + TOMBSTONE_MS);
  e = await SessionEngine.open(opts(fs, clock));
  assert.equal(e.isDestroyed(VICTIM), false);
  await e.close();
});

test('a session saved again after its tombstone was forgotten (past tombstonesMax) is not refused after a restart', async () => {
  const fs = new SimFileSystem();
  const clock = new ManualClock(T0);
  const o = { ...opts(fs, clock), tombstonesMax: 1 };
  const e = await SessionEngine.open(o);
  await e.destroy(VICTIM);
  await e.destroy(LAST); // VICTIM's tombstone is forgotten
  await e.save(VICTIM, { attributes: { back: 'true' } });
  await e.close();
  const e2 = await SessionEngine.open(opts(fs, clock)); // reopened with room for every tombstone
  assert.notEqual(e2.get(VICTIM), undefined);
  assert.equal((await e2.save(VICTIM, { attributes: { back: 'again' } })).version, 2);
  assert.equal(e2.isDestroyed(LAST), true);
  await e2.close();
});
