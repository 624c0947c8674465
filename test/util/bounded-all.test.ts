import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundedAll } from '../../src/util/bounded-all.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('boundedAll: every task runs once, in index order, never more than the window at once', async () => {
  const started: number[] = [];
  let inFlight = 0;
  let max = 0;
  await boundedAll(50, 4, async (k) => {
    started.push(k);
    max = Math.max(max, ++inFlight);
    for (let i = 0; i < (k % 3) + 1; i++) await turn();
    inFlight--;
  });
  assert.deepEqual(started, Array.from({ length: 50 }, (_, k) => k));
  assert.equal(max, 4);
  await boundedAll(0, 4, () => Promise.reject(new Error('never called')));
});

test('boundedAll: after a failure nothing new starts, the tasks in flight finish first, then the first error', async () => {
  const started: number[] = [];
  const finished: number[] = [];
  const boom = new Error('task 2');
  const run = boundedAll(20, 4, async (k) => {
    started.push(k);
    await turn();
    if (k === 2) throw boom;
    if (k === 3) throw new Error('task 3, later');
    await turn();
    await turn();
    finished.push(k);
  });
  await assert.rejects(run, (e) => e === boom);
  assert.deepEqual(started, [0, 1, 2, 3], 'no task starts after the failure');
  assert.deepEqual(finished.sort(), [0, 1], 'the tasks in flight finished before the rejection');
});
