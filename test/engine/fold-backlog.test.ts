/**
 * The flusher's backlog bound (issue 8; kind: unit, on the simulated file layer): the log
 * bytes not yet folded into the database file stay under flushBacklogBytesMax plus the
 * changes let through at once, under a sustained write load the flusher alone would never
 * keep up with (here it never runs on its timer: the clock stands still).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { FoldBacklog, SLICE_GROWTH_MAX } from '../../src/engine/fold-backlog.js';

const BOUND = 64 * 1024;
const WRITERS = 16;
const SAVES = 1200;
/** Every record below is a PUT of a bit more than this (the attributes alone). */
const RECORD_BYTES_MIN = 1000;
const RECORD_BYTES_MAX = 1400;

test('sustained writes keep the unfolded log under flushBacklogBytesMax plus one record per writer', { timeout: 120_000 }, async () => {
  const clock = new ManualClock();
  const e = await SessionEngine.open({ dir: '/b', fs: new SimFileSystem(4), clock, flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000, flushBacklogBytesMax: BOUND });
  const pad = JSON.stringify('y'.repeat(1000));
  const limit = BOUND + WRITERS * RECORD_BYTES_MAX;
  let next = 0;
  let maxBacklog = 0;
  let maxLag = 0;
  const writer = async (): Promise<void> => {
    while (next < SAVES) {
      const i = next++;
      await e.save(`bl${String(i).padStart(22, '0')}`, { attributes: { pad, i: String(i) } });
      if (i % 25 === 0) {
        const st = await e.stats();
        maxBacklog = Math.max(maxBacklog, st.flush.backlogBytes);
        maxLag = Math.max(maxLag, st.flush.lsnLag);
      }
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
  const st = await e.stats();
  assert.ok(SAVES * RECORD_BYTES_MIN > 10 * BOUND, 'the load is many times the bound');
  assert.ok(st.flush.backlogStalls > 0, 'changes waited for the flusher');
  assert.ok(maxBacklog <= limit, `backlog reached ${maxBacklog} B, bound ${limit}`);
  // The same bound from the LSNs alone (records acknowledged, not in the database file).
  assert.ok(maxLag * RECORD_BYTES_MIN <= limit, `${maxLag} records not folded, bound ${limit} B`);
  assert.ok(st.db.liveImages > SAVES - limit / RECORD_BYTES_MIN, `${st.db.liveImages} images: the flusher folded as it went`);
  await e.close();
});

test('the flusher slice grows with the backlog, from the base at none to SLICE_GROWTH_MAX times it at the bound', () => {
  const b = new FoldBacklog(1000, () => {});
  assert.equal(b.sliceMs(2), 2);
  b.noteApplied(500);
  const half = b.sliceMs(2);
  assert.ok(half > 2 && half < 2 * SLICE_GROWTH_MAX, `half way: ${half}`);
  b.noteApplied(5000);
  assert.equal(b.sliceMs(2), 2 * SLICE_GROWTH_MAX, 'capped at the bound');
  b.foldedTo(b.mark());
  assert.equal(b.sliceMs(2), 2);
});

test('at the bound changes wait in call order for a fold, which is asked for, and go once it is under', async () => {
  let asked = 0;
  const b = new FoldBacklog(1000, () => asked++);
  assert.equal(b.admit(), undefined);
  b.noteApplied(1000);
  const order: number[] = [];
  const waits = [0, 1, 2].map((i) => b.admit()!.then(() => order.push(i)));
  assert.equal(asked, 1, 'the first waiter asks for a fold');
  b.noteApplied(0);
  const mark = b.mark();
  b.noteApplied(1500); // applied during the cycle: still over after it
  b.foldedTo(mark);
  await Promise.resolve();
  assert.deepEqual(order, [], 'still over the bound: nobody goes');
  assert.equal(asked, 2, 'and another cycle is asked for');
  b.foldedTo(b.mark());
  await Promise.all(waits);
  assert.deepEqual(order, [0, 1, 2]);
  assert.equal(b.stalls, 3);
});

test('at the soft bound (flushBacklogBytesMin) a fold is asked for once, after the turn, and again after a cycle that leaves it over', async () => {
  let asked = 0;
  const b = new FoldBacklog(10_000, () => asked++, 0, 1000);
  b.noteApplied(999);
  await Promise.resolve();
  assert.equal(asked, 0, 'under the soft bound: the timer decides');
  b.noteApplied(1);
  assert.equal(asked, 0, 'not in the turn that made the change visible');
  await Promise.resolve();
  assert.equal(asked, 1);
  b.noteApplied(5000);
  await Promise.resolve();
  assert.equal(asked, 1, 'asked once until a cycle folds');
  const mark = b.mark();
  b.noteApplied(1200); // applied while the cycle ran: still at the soft bound after it
  b.foldedTo(mark);
  await Promise.resolve();
  assert.equal(asked, 2, 'one more cycle');
  b.foldedTo(b.mark());
  b.noteApplied(10);
  await Promise.resolve();
  assert.equal(asked, 2, 'folded and under: nothing asked');
  assert.equal(b.admit(), undefined, 'nobody waits at the soft bound');
});

test('the engine folds at flushBacklogBytesMin without its timer, and on its timer (flushIntervalMs) below it', { timeout: 60_000 }, async () => {
  const clock = new ManualClock(0, { timers: true });
  const e = await SessionEngine.open({ dir: '/s', fs: new SimFileSystem(5), clock, expiryIntervalMs: 3_600_000, flushBacklogBytesMin: 8 * 1024 });
  const pad = JSON.stringify('z'.repeat(1000));
  const save = (i: number): Promise<unknown> => e.save(`sb${String(i).padStart(22, '0')}`, { attributes: { pad } });
  const turns = async (): Promise<void> => {
    for (let k = 0; k < 50; k++) await new Promise((r) => setImmediate(r));
  };
  for (let i = 0; i < 4; i++) await save(i);
  await turns();
  assert.equal((await e.stats()).flush.cycles, 0, '4 KiB: under the soft bound, before the timer');
  clock.advance(29_000);
  await turns();
  assert.equal((await e.stats()).flush.cycles, 0, 'the default flushIntervalMs is 30 s');
  clock.advance(1_000);
  for (let k = 0; k < 20 && (await e.stats()).flush.cycles === 0; k++) await turns();
  let st = await e.stats();
  assert.equal(st.flush.cycles, 1, 'the timer folded at 30 s');
  assert.equal(st.flush.backlogBytes, 0);
  for (let i = 4; i < 12; i++) await save(i); // 8+ KiB: past the soft bound
  for (let k = 0; k < 20 && (await e.stats()).flush.cycles === 1; k++) await turns();
  st = await e.stats();
  assert.ok(st.flush.cycles >= 2, 'the soft bound folded without the timer');
  assert.ok(st.flush.backlogBytes < 8 * 1024, `${st.flush.backlogBytes} B left unfolded`);
  assert.equal(st.flush.backlogStalls, 0, 'no change waited');
  await e.close();
});
