/**
 * A flush encodes its images in bounded slices with event-loop turns between them, and
 * writes the same database as an unsliced one (kind: unit, on the simulated file layer).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseFile } from '../../src/db/database-file.js';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { writeSessions } from '../../src/engine/write-sessions.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { encodePut } from '../../src/session/session-encoder.js';
import { makeState, type SessionState } from '../../src/session/session-state.js';
import { LoopSlice } from '../../src/util/loop-slice.js';

const DIR = '/s';
const SESSIONS = 40;

function states(): Map<string, SessionState> {
  const out = new Map<string, SessionState>();
  for (let i = 0; i < SESSIONS; i++) {
    const id = `slice-${String(i).padStart(4, '0')}-${'x'.repeat(12)}`;
    out.set(id, makeState(id, 1, i + 1, 1000, 1000, 0, 0, 'o', `"n"\u0001${i}\u0000"pad"\u0001"${'p'.repeat(i * 37)}"`));
  }
  return out;
}

/** Writes every state through writeSessions, reopens the file and returns the images it holds. */
async function flushAndReopen(slice: LoopSlice | undefined): Promise<Map<string, { lsn: number; data: string }>> {
  const fs = new SimFileSystem();
  await fs.mkdir(DIR);
  const sessions = states();
  const db = await DatabaseFile.open({ fs, dir: DIR, salvage: false }, () => {});
  await writeSessions(db, sessions.keys(), (id) => sessions.get(id), SESSIONS, 1 << 30, undefined, undefined, slice);
  await db.close();
  const images = new Map<string, { lsn: number; data: string }>();
  const again = await DatabaseFile.open({ fs, dir: DIR, salvage: false }, (img) => images.set(img.id, { lsn: img.lsn, data: Buffer.from(img.data).toString('hex') }));
  await again.close();
  return images;
}

/** Counts event-loop turns (a setImmediate that arms itself again) until `stop()`, which says how many ran. */
function countTurns(): { stop(): number } {
  let turns = 0;
  let ticking = true;
  const tick = (): void => {
    turns++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    stop: () => {
      ticking = false;
      return turns;
    },
  };
}

test('every item of the encoding loops (lookup, batch checks, image crc) yields once its slice is used up', async () => {
  // A clock that moves 1 ms per reading: every check finds the slice used up.
  let ms = 0;
  const slice = new LoopSlice(1, () => ms++);
  const loop = countTurns();
  const images = await flushAndReopen(slice);
  const turns = loop.stop();
  // writeSessions' lookup loop, applyBatch's checks and its image encoding: one yield per session each.
  assert.ok(slice.yields >= 3 * SESSIONS, `${slice.yields} yields for ${SESSIONS} sessions`);
  // The yields are real event-loop turns: other callbacks ran between the slices.
  assert.ok(turns >= slice.yields, `${turns} turns for ${slice.yields} yields`);
  assert.equal(images.size, SESSIONS);
});

test('a sliced flush writes exactly the images an unsliced one does', async () => {
  let ms = 0;
  const sliced = await flushAndReopen(new LoopSlice(1, () => ms++));
  const whole = await flushAndReopen(undefined);
  assert.deepEqual(sliced, whole);
  for (const [id, s] of states()) assert.deepEqual(sliced.get(id), { lsn: s.lsn, data: encodePut(s).toString('hex') });
});

test('a slice with time left does not yield', async () => {
  const slice = new LoopSlice(1000, () => 0);
  await flushAndReopen(slice);
  assert.equal(slice.yields, 0);
});

test("the engine's flusher slices on the engine's clock: a flush lets the event loop turn between sessions", async () => {
  // A clock that moves 1 ms per reading, so every slice check finds flushSliceMsMax (1) used up.
  let ms = 1_700_000_000_000;
  const clock = { now: () => ms++ };
  const e = await SessionEngine.open({ dir: DIR, fs: new SimFileSystem(), clock, flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000, flushSliceMsMax: 1 });
  try {
    for (let i = 0; i < SESSIONS; i++) await e.save(`engine-${String(i).padStart(4, '0')}-${'y'.repeat(12)}`, { attributes: { n: String(i) } });
    const loop = countTurns();
    await e.flush();
    const turns = loop.stop();
    // The simulated file layer answers in microtasks: without slices a flush takes no turn at all.
    assert.ok(turns >= SESSIONS, `${turns} event-loop turns during a flush of ${SESSIONS} sessions`);
    assert.equal((await e.stats()).flush.sessionsWritten, SESSIONS);
  } finally {
    await e.close();
  }
});
