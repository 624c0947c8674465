/**
 * Back mode's write-back tick (src/global/write-back-tick.ts; kind: unit, fake timers and a
 * fake pending journal): armed only while something waits, at the rate of a fixed interval
 * while it does.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WriteBackTick, writeBackDueInMs, type TickTimers } from '../../src/global/write-back-tick.js';

/** Timers the test moves: `advance(ms)` fires what falls due, in order. */
function fakeTimers(): TickTimers & { at: number; pending: () => number; advance: (ms: number) => Promise<void> } {
  let seq = 0;
  const armed = new Map<number, { at: number; run: () => void }>();
  const t = {
    at: 0,
    now: () => t.at,
    set: (run: () => void, ms: number) => (armed.set(++seq, { at: t.at + ms, run }), seq),
    clear: (id: unknown) => void armed.delete(id as number),
    pending: () => armed.size,
    async advance(ms: number): Promise<void> {
      const end = t.at + ms;
      for (;;) {
        const next = [...armed].sort((a, b) => a[1].at - b[1].at)[0];
        if (next === undefined || next[1].at > end) break;
        armed.delete(next[0]);
        t.at = next[1].at;
        next[1].run();
        for (let i = 0; i < 5; i++) await Promise.resolve(); // the run's promise and its re-arm
      }
      t.at = end;
    },
  };
  return t;
}

const EVERY = 100;
const KEEP = 1000;

/** A pending journal with `pending` sessions and its oldest kept mark due (KEEP old) at `keptDueAt`. */
function journalOf(work: { pending: number; keptDueAt?: number }, timers: { at: number }) {
  return { count: work.pending, settledDueInMs: (ageMs: number) => (work.keptDueAt === undefined ? undefined : work.keptDueAt - KEEP + ageMs - timers.at) };
}

describe('writeBackDueInMs', () => {
  const g = { writeBackMs: EVERY, pendingKeepMs: KEEP };
  it('pending sessions: the next writeBackMs boundary since the last run started', () => {
    assert.equal(writeBackDueInMs(journalOf({ pending: 2 }, { at: 0 }), g, 30), 70);
    assert.equal(writeBackDueInMs(journalOf({ pending: 2 }, { at: 0 }), g, 250), 50, 'a run longer than the period: the next boundary, as an interval');
  });
  it('kept marks only: when the oldest is due, not before the boundary; nothing: never', () => {
    assert.equal(writeBackDueInMs(journalOf({ pending: 0, keptDueAt: 400 }, { at: 0 }), g, 30), 400);
    assert.equal(writeBackDueInMs(journalOf({ pending: 0, keptDueAt: 10 }, { at: 0 }), g, 30), 70);
    assert.equal(writeBackDueInMs(journalOf({ pending: 1, keptDueAt: 400 }, { at: 0 }), g, 30), 70, 'a pending session does not wait for the mark');
    assert.equal(writeBackDueInMs(journalOf({ pending: 0 }, { at: 0 }), g, 30), undefined);
  });
});

describe('WriteBackTick', () => {
  function setup(work: { pending: number; keptDueAt?: number; runMs?: number }) {
    const timers = fakeTimers();
    const runsAt: number[] = [];
    const tick = new WriteBackTick(
      async () => {
        runsAt.push(timers.at);
        if (work.runMs !== undefined) timers.at += work.runMs; // the write-back took that long
        work.pending = 0;
      },
      (since) => writeBackDueInMs(journalOf(work, timers), { writeBackMs: EVERY, pendingKeepMs: KEEP }, since),
      timers,
    );
    return { timers, runsAt, tick };
  }

  it('arms no timer while nothing waits, and a poke with nothing to do arms none', async () => {
    const { timers, runsAt, tick } = setup({ pending: 0 });
    tick.poke();
    await timers.advance(10 * EVERY);
    assert.equal(timers.pending(), 0);
    assert.equal(tick.armedInMs, undefined);
    assert.deepEqual(runsAt, []);
  });

  it('a poke when something is pending runs the write-back within the period, once, then disarms', async () => {
    const work = { pending: 0 };
    const { timers, runsAt, tick } = setup(work);
    await timers.advance(250);
    work.pending = 1;
    tick.poke();
    tick.poke(); // armed already: no second timer
    assert.equal(timers.pending(), 1);
    assert.ok(tick.armedInMs! <= EVERY);
    await timers.advance(EVERY);
    assert.equal(runsAt.length, 1);
    assert.equal(tick.armedInMs, undefined, 'nothing left: disarmed');
  });

  it('while work remains it keeps a fixed rate: the next run one period after the last one started', async () => {
    const work = { pending: 1, runMs: 30 };
    const { timers, runsAt, tick } = setup(work);
    tick.poke();
    await timers.advance(EVERY);
    work.pending = 1; // changed again meanwhile
    tick.poke();
    await timers.advance(EVERY);
    assert.equal(runsAt.length, 2);
    assert.equal(runsAt[1]! - runsAt[0]!, EVERY, 'a period from start to start, not from the end of the run');
  });

  it('kept marks only: runs once they are due, and a pending change re-arms it sooner', async () => {
    const work: { pending: number; keptDueAt?: number } = { pending: 0, keptDueAt: 1000 };
    const { timers, runsAt, tick } = setup(work);
    tick.poke();
    assert.equal(tick.armedInMs, 1000, 'armed for when the oldest kept mark is due');
    await timers.advance(200);
    work.pending = 1;
    tick.poke();
    assert.ok(tick.armedInMs! <= EVERY, 'a change does not wait for the kept mark');
    await timers.advance(EVERY);
    assert.equal(runsAt.length, 1);
    assert.equal(timers.pending(), 1, 'only one timer armed at a time');
    work.keptDueAt = undefined;
    await timers.advance(1000);
    assert.equal(runsAt.length, 2);
    assert.equal(tick.armedInMs, undefined);
  });

  it('stop() clears the timer, and nothing arms it again', async () => {
    const work = { pending: 1 };
    const { timers, runsAt, tick } = setup(work);
    tick.poke();
    tick.stop();
    tick.poke();
    await timers.advance(10 * EVERY);
    assert.equal(timers.pending(), 0);
    assert.deepEqual(runsAt, []);
  });
});
