// LSN continuity across the database and the logs (kind: unit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LsnChain } from '../../src/log/lsn-chain.js';

test('records continuing the database and each other form a chain without gaps', () => {
  const c = new LsnChain(10);
  assert.equal(c.logStarts('a', 5), undefined);
  for (const lsn of [8, 9, 10, 11, 12]) assert.equal(c.record('a', lsn), undefined, 'folded records and then the next LSN');
  c.logEnds('a', 1300, 0);
  assert.equal(c.logStarts('b', 13), undefined);
  assert.equal(c.record('b', 13), undefined);
});

test("a gap before a newer log's first record names where the older log's valid records end", () => {
  const c = new LsnChain(10);
  c.record('a', 11);
  c.logEnds('a', 600, 77);
  assert.deepEqual(c.record('b', 15), { file: 'a', offset: 600, bytes: 77, fromLsn: 12, toLsn: 14, vouchedBy: 'b' });
});

test("a newer log's firstLsn vouches even when it holds no record", () => {
  const c = new LsnChain(10);
  c.logEnds('a', 512, 0);
  assert.deepEqual(c.logStarts('b', 14), { file: 'a', offset: 512, bytes: 0, fromLsn: 11, toLsn: 13, vouchedBy: 'b' });
});

test('inside one log the reader judges damage: a skipped range is not reported twice', () => {
  const c = new LsnChain(10);
  c.record('a', 11);
  assert.equal(c.record('a', 15), undefined);
});

test('records missing between the database and the oldest log are a gap too', () => {
  const c = new LsnChain(10);
  assert.deepEqual(c.record('a', 12), { file: 'a', offset: 0, bytes: 0, fromLsn: 11, toLsn: 11, vouchedBy: 'a' });
});
