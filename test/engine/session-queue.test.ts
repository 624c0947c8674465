// Unit and model-based tests of the per-session FIFO turns (src/engine/session-queue.ts,
// SPEC E8). Timeouts use a few milliseconds of real time; nothing asserts on durations.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { SessiondError, isSessiondError } from '../../src/errors.js';
import { SessionQueue, type Release } from '../../src/engine/session-queue.js';
import { Prng } from '../../src/util/prng.js';

const LONG = { queueLengthMax: 1000, queueWaitMsMax: 3_600_000 };

/** Lets every settled promise run its callbacks (one macrotask turn). */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Awaits `p` while a ref'd timer holds the event loop open: the queue's own timers are
 * unref'd, so without this a test waiting only for a QUEUE_TIMEOUT would see the loop drain.
 */
async function loopAlive<T>(p: Promise<T>): Promise<T> {
  const hold = setInterval(() => undefined, 1000);
  try {
    return await p;
  } finally {
    clearInterval(hold);
  }
}

type State = 'pending' | 'fulfilled' | 'rejected';
/** Tracks a promise's state without awaiting it. */
function track<T>(p: Promise<T>): { state: () => State; value: () => T | undefined; error: () => unknown } {
  let state: State = 'pending';
  let value: T | undefined;
  let error: unknown;
  p.then(
    (v) => {
      state = 'fulfilled';
      value = v;
    },
    (e: unknown) => {
      state = 'rejected';
      error = e;
    },
  );
  return { state: () => state, value: () => value, error: () => error };
}

describe('SessionQueue', () => {
  it('grants the turns of one session in FIFO order, one at a time', async () => {
    const q = new SessionQueue(LONG);
    const order: number[] = [];
    let inTurn = 0;
    const runs = Array.from({ length: 20 }, (_, i) =>
      q.run('s', async () => {
        inTurn++;
        assert.equal(inTurn, 1, 'two requests of one session ran together');
        order.push(i);
        await flush();
        inTurn--;
      }),
    );
    await Promise.all(runs);
    assert.deepEqual(order, Array.from({ length: 20 }, (_, i) => i));
    assert.deepEqual(q.counts(), { held: 0, waiting: 0 });
  });

  it('never makes one session wait for another', async () => {
    const q = new SessionQueue({ queueLengthMax: 1, queueWaitMsMax: 3_600_000 });
    const holds = await Promise.all(Array.from({ length: 50 }, (_, i) => q.acquire(`s${i}`)));
    const aWaiter = track(q.acquire('s0')); // s0 is busy and now full
    const others = Array.from({ length: 50 }, (_, i) => track(q.acquire(`t${i}`)));
    await flush();
    assert.equal(aWaiter.state(), 'pending');
    assert.ok(others.every((o) => o.state() === 'fulfilled'), 'a session waited while others held their turns');
    assert.deepEqual(q.counts(), { held: 100, waiting: 1 });
    for (const release of holds) release();
    await flush();
    aWaiter.value()!();
    for (const o of others) o.value()!();
    assert.deepEqual(q.counts(), { held: 0, waiting: 0 });
  });

  it('hands the turn on once however many times release is called', async () => {
    const q = new SessionQueue(LONG);
    const first = await q.acquire('s');
    const second = track(q.acquire('s'));
    const third = track(q.acquire('s'));
    first();
    first();
    first();
    await flush();
    assert.equal(second.state(), 'fulfilled');
    assert.equal(third.state(), 'pending', 'a repeated release handed the turn on twice');
    assert.deepEqual(q.counts(), { held: 1, waiting: 1 });
    first(); // a stale release from an earlier holder does nothing either
    await flush();
    assert.equal(third.state(), 'pending');
    second.value()!();
    second.value()!();
    await flush();
    assert.equal(third.state(), 'fulfilled');
    third.value()!();
    assert.deepEqual(q.counts(), { held: 0, waiting: 0 });
  });

  it('refuses a waiter past queueLengthMax with SESSIOND_QUEUE_FULL (503)', async () => {
    const q = new SessionQueue({ queueLengthMax: 2, queueWaitMsMax: 3_600_000 });
    const release = await q.acquire('s');
    const w1 = track(q.acquire('s'));
    const w2 = track(q.acquire('s'));
    await assert.rejects(q.acquire('s'), (e) => {
      assert.ok(isSessiondError(e, 'SESSIOND_QUEUE_FULL'));
      assert.equal(e.status, 503);
      assert.equal(e.context.queueLengthMax, 2);
      return true;
    });
    assert.deepEqual(q.counts(), { held: 1, waiting: 2 });
    release();
    await flush();
    assert.equal(w1.state(), 'fulfilled');
    assert.equal(w2.state(), 'pending');
    // One waiter left the queue: there is room for one more.
    const w3 = track(q.acquire('s'));
    await flush();
    assert.equal(w3.state(), 'pending');
    w1.value()!();
    await flush();
    w2.value()!();
    await flush();
    w3.value()!();
    assert.deepEqual(q.counts(), { held: 0, waiting: 0 });
  });

  it('rejects a waiter with SESSIOND_QUEUE_TIMEOUT after queueWaitMsMax', async () => {
    const q = new SessionQueue({ queueLengthMax: 10, queueWaitMsMax: 5 });
    const release = await q.acquire('s');
    await assert.rejects(loopAlive(q.acquire('s')), (e) => {
      assert.ok(isSessiondError(e, 'SESSIOND_QUEUE_TIMEOUT'));
      assert.equal(e.status, 503);
      assert.equal(e.context.queueWaitMsMax, 5);
      return true;
    });
    assert.deepEqual(q.counts(), { held: 1, waiting: 0 });
    release();
  });

  it('never grants the turn to a waiter that timed out', async () => {
    const q = new SessionQueue({ queueLengthMax: 10, queueWaitMsMax: 5 });
    const release = await q.acquire('s');
    const late = q.acquire('s');
    await assert.rejects(loopAlive(late), (e) => isSessiondError(e, 'SESSIOND_QUEUE_TIMEOUT'));
    const next = track(q.acquire('s'));
    release(); // hands on synchronously, before next's own timer can fire
    await flush();
    assert.equal(next.state(), 'fulfilled', 'the turn went to the timed-out waiter');
    assert.deepEqual(q.counts(), { held: 1, waiting: 0 });
    next.value()!();
    assert.deepEqual(q.counts(), { held: 0, waiting: 0 });
  });

  it('a waiter granted its turn is not rejected by its timer later', async () => {
    const q = new SessionQueue({ queueLengthMax: 10, queueWaitMsMax: 5 });
    const release = await q.acquire('s');
    const w = track(q.acquire('s'));
    release();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(w.state(), 'fulfilled');
    w.value()!();
  });

  it('rejectAll fails every waiter of every session with the given error', async () => {
    const q = new SessionQueue(LONG);
    const ra = await q.acquire('a');
    const rb = await q.acquire('b');
    const waiters = [track(q.acquire('a')), track(q.acquire('a')), track(q.acquire('b'))];
    assert.deepEqual(q.counts(), { held: 2, waiting: 3 });
    const closed = new SessiondError('SESSIOND_CLOSED');
    q.rejectAll(closed);
    await flush();
    for (const w of waiters) {
      assert.equal(w.state(), 'rejected');
      assert.equal(w.error(), closed);
    }
    assert.deepEqual(q.counts(), { held: 2, waiting: 0 });
    ra();
    rb();
    assert.deepEqual(q.counts(), { held: 0, waiting: 0 });
    // The queue still works afterwards (the engine refuses new requests itself).
    const again = await q.acquire('a');
    again();
  });

  it('counts sessions held and requests waiting', async () => {
    const q = new SessionQueue(LONG);
    assert.deepEqual(q.counts(), { held: 0, waiting: 0 });
    const ra = await q.acquire('a');
    assert.deepEqual(q.counts(), { held: 1, waiting: 0 });
    const wa = track(q.acquire('a'));
    const rb = await q.acquire('b');
    const wb = track(q.acquire('b'));
    assert.deepEqual(q.counts(), { held: 2, waiting: 2 });
    ra();
    await flush();
    assert.deepEqual(q.counts(), { held: 2, waiting: 1 });
    wa.value()!();
    assert.deepEqual(q.counts(), { held: 1, waiting: 1 });
    rb();
    await flush();
    wb.value()!();
    assert.deepEqual(q.counts(), { held: 0, waiting: 0 });
  });

  it('run releases the turn when its function throws or rejects', async () => {
    const q = new SessionQueue(LONG);
    await assert.rejects(q.run('s', () => { throw new Error('sync'); }), /sync/);
    await assert.rejects(q.run('s', () => Promise.reject(new Error('async'))), /async/);
    assert.deepEqual(q.counts(), { held: 0, waiting: 0 });
    assert.equal(await q.run('s', () => 42), 42);
  });

  it('keeps FIFO order and one holder per session under random acquires and releases (model, seeded)', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const prng = new Prng(seed);
      const q = new SessionQueue({ queueLengthMax: 4, queueWaitMsMax: 3_600_000 });
      const ids = ['a', 'b', 'c'];
      const model = new Map<string, { holder: number | undefined; queue: number[] }>(ids.map((id) => [id, { holder: undefined, queue: [] }]));
      const releases = new Map<number, Release>();
      const granted: Array<{ id: string; ticket: number }> = [];
      let ticket = 0;
      for (let step = 0; step < 200; step++) {
        const id = prng.pick(ids);
        const m = model.get(id)!;
        if (m.holder !== undefined && prng.bool(0.4)) {
          releases.get(m.holder)!();
          if (prng.bool(0.2)) releases.get(m.holder)!(); // a double release changes nothing
          m.holder = m.queue.shift();
        } else {
          const t = ticket++;
          const p = q.acquire(id);
          if (m.holder === undefined) m.holder = t;
          else if (m.queue.length < 4) m.queue.push(t);
          else {
            await assert.rejects(p, (e) => isSessiondError(e, 'SESSIOND_QUEUE_FULL'));
            continue;
          }
          p.then((r) => {
            releases.set(t, r);
            granted.push({ id, ticket: t });
          }, () => assert.fail('only a full queue rejects here'));
        }
        await flush();
        for (const [mid, ms] of model) {
          if (ms.holder !== undefined) assert.ok(releases.has(ms.holder), `seed ${seed} step ${step}: ${mid} holder ${ms.holder} not granted`);
          for (const w of ms.queue) assert.ok(!releases.has(w), `seed ${seed} step ${step}: ${mid} waiter ${w} granted early`);
        }
        const waiting = [...model.values()].reduce((n, ms) => n + ms.queue.length, 0);
        const held = [...model.values()].filter((ms) => ms.holder !== undefined).length;
        assert.deepEqual(q.counts(), { held, waiting }, `seed ${seed} step ${step}`);
      }
      // Drain: every waiter still queued gets its turn, in order.
      for (const m of model.values()) {
        while (m.holder !== undefined) {
          releases.get(m.holder)!();
          m.holder = m.queue.shift();
          await flush();
          if (m.holder !== undefined) assert.ok(releases.has(m.holder), `seed ${seed}: waiter ${m.holder} not granted while draining`);
        }
      }
      assert.deepEqual(q.counts(), { held: 0, waiting: 0 }, `seed ${seed} after draining`);
      for (const id of ids) {
        const order = granted.filter((g) => g.id === id).map((g) => g.ticket);
        assert.deepEqual(order, [...order].sort((x, y) => x - y), `seed ${seed}: ${id} not FIFO`);
      }
    }
  });

  it('does not keep the process alive while a request waits (its timer is unref’d)', () => {
    const moduleUrl = new URL('../../src/engine/session-queue.js', import.meta.url).href;
    const script = `
      const { SessionQueue } = await import(${JSON.stringify(moduleUrl)});
      const q = new SessionQueue({ queueLengthMax: 10, queueWaitMsMax: 3600000 });
      await q.acquire('s');
      q.acquire('s').then(() => process.exit(2), () => process.exit(3));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000, encoding: 'utf8' });
    assert.equal(r.signal, null, 'the child was still running when killed: a waiter timer kept it alive');
    assert.equal(r.status, 0, r.stderr);
  });
});
