/** The statement batcher of the PostgreSQL backend (kind: unit): who goes alone, who waits, who shares. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { StatementBatcher } from '../../src/global/postgres/statement-batch.js';

interface Sent {
  asks: string[];
  answer(out: Array<string | Error>): void;
  fail(e: Error): void;
}

function harness(maxInFlight: number, maxBatch = 100): { b: StatementBatcher<string, string>; sent: Sent[] } {
  const sent: Sent[] = [];
  const b = new StatementBatcher<string, string>(
    (asks) => new Promise((resolve, reject) => sent.push({ asks: [...asks], answer: resolve, fail: reject })),
    (a) => a.split(':')[0]!,
    maxInFlight,
    maxBatch,
  );
  return { b, sent };
}

it('an ask that finds fewer statements out than the limit goes alone at once; the others share the next statement', async () => {
  const { b, sent } = harness(2);
  const p = ['a', 'b', 'c', 'd', 'e'].map((x) => b.ask(x));
  assert.deepEqual(sent.map((s) => s.asks), [['a'], ['b']]);
  sent[0]!.answer(['A']);
  await p[0];
  assert.deepEqual(sent.map((s) => s.asks), [['a'], ['b'], ['c', 'd', 'e']]);
  sent[2]!.answer(['C', new Error('d only'), 'E']);
  sent[1]!.answer(['B']);
  assert.deepEqual(await Promise.allSettled(p), [
    { status: 'fulfilled', value: 'A' },
    { status: 'fulfilled', value: 'B' },
    { status: 'fulfilled', value: 'C' },
    { status: 'rejected', reason: new Error('d only') },
    { status: 'fulfilled', value: 'E' },
  ]);
  assert.deepEqual(b.stats, { statements: 3, asks: 5 });
});

it('two asks of one key never share a statement; a failed statement fails its asks only; a missing answer is an error', async () => {
  const { b, sent } = harness(1, 2);
  const p = ['x:1', 'y:1', 'x:2', 'y:2', 'z:1'].map((x) => b.ask(x));
  assert.deepEqual(sent.map((s) => s.asks), [['x:1']]);
  sent[0]!.fail(new Error('down'));
  await assert.rejects(p[0]!, /down/);
  assert.deepEqual(sent[1]!.asks, ['y:1', 'x:2'], 'at most maxBatch asks');
  sent[1]!.answer(['Y1']);
  await assert.rejects(p[2]!, /no answer/);
  assert.deepEqual(sent[2]!.asks, ['y:2', 'z:1']);
  sent[2]!.answer(['Y2', 'Z1']);
  assert.deepEqual(await Promise.all([p[1], p[3], p[4]]), ['Y1', 'Y2', 'Z1']);
});

it('by default one statement of a kind is out at a time: the asks that come meanwhile all share the next', async () => {
  const sent: Sent[] = [];
  const b = new StatementBatcher<string, string>(
    (asks) => new Promise((resolve, reject) => sent.push({ asks: [...asks], answer: resolve, fail: reject })),
    (a) => a,
  );
  const p = ['a', 'b', 'c'].map((x) => b.ask(x));
  assert.deepEqual(sent.map((s) => s.asks), [['a']], 'the first goes alone at once; the others wait for it');
  sent[0]!.answer(['A']);
  await p[0];
  assert.deepEqual(sent.map((s) => s.asks), [['a'], ['b', 'c']]);
  sent[1]!.answer(['B', 'C']);
  assert.deepEqual(await Promise.all(p), ['A', 'B', 'C']);
  assert.deepEqual(b.stats, { statements: 2, asks: 3 });
});
