/**
 * The per-session chain of global statements (kind: unit; src/global/keyed-chain.ts): one
 * key's tasks run one after another in call order, a failed task does not stop the next,
 * a task of an idle key starts at once (within `run`), and an idle key leaves no entry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedChain } from '../../src/global/keyed-chain.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test("one key's tasks run in call order, each after the last settled, failures included", async () => {
  const chain = new KeyedChain();
  const log: string[] = [];
  let open!: () => void;
  const first = chain.run('a', () => new Promise<void>((r) => (open = r)).then(() => log.push('a1')));
  const second = chain.run('a', () => {
    log.push('a2');
    throw new Error('a2 failed');
  });
  const third = chain.run('a', () => log.push('a3'));
  const other = chain.run('b', () => log.push('b1'));
  await other;
  assert.deepEqual(log, ['b1'], 'another key does not wait; this key waits for its first task');
  assert.equal(chain.pending('a'), true);
  open();
  await first;
  await assert.rejects(second, /a2 failed/);
  assert.equal(await third, 4, 'its own result (the length of the log)');
  assert.deepEqual(log, ['b1', 'a1', 'a2', 'a3']);
  await tick();
  assert.equal(chain.pending('a'), false, 'an idle key leaves no entry');
  assert.equal(chain.pending('b'), false);
});

test('a task of an idle key starts within run; a synchronous throw is its rejection', async () => {
  const chain = new KeyedChain();
  let ran = false;
  const p = chain.run('a', () => {
    ran = true;
    return 1;
  });
  assert.equal(ran, true);
  assert.equal(await p, 1);
  const q = chain.run('a', () => {
    throw new Error('sync');
  });
  await assert.rejects(q, /sync/);
  await chain.idle();
  assert.equal(chain.pending('a'), false);
});

test('idle resolves once every task queued so far has settled', async () => {
  const chain = new KeyedChain();
  let done = 0;
  for (const k of ['a', 'a', 'b']) void chain.run(k, () => tick().then(() => done++));
  await chain.idle();
  assert.equal(done, 3);
});
