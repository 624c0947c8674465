/**
 * The state a change makes (kind: unit, on the simulated file layer): the plan's fresh state
 * gets its record's LSN when it is appended (session-engine.ts append, not a copy), and that
 * one object is what the observer sees, what the write resolves with, what `get` returns
 * once durable, and what a reopen rebuilds field for field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import type { SessionState } from '../../src/session/session-state.js';

const HOUR = 3_600_000;

test('every change resolves with the state the observer saw at its append, its lsn that of its record, and get returns that object', async () => {
  const fs = new SimFileSystem();
  const clock = new ManualClock(1_000_000);
  const seen: Array<{ lsn: number; id: string; state: SessionState | undefined; lsnThen: number | undefined }> = [];
  const observer = { appended: (lsn: number, id: string, state: SessionState | undefined) => void seen.push({ lsn, id, state, lsnThen: state?.lsn }) };
  const opts = { dir: '/s', fs, clock, flushIntervalMs: HOUR, expiryIntervalMs: HOUR };
  const e = await SessionEngine.open({ ...opts, observer });
  const results: SessionState[] = [];
  results.push(await e.save('a', { attributes: { n: '1' } })); // PUT
  results.push(await e.saveOne('b', 'v', '"x"')); // PUT
  results.push(await e.saveOne('b', 'v', '"y"')); // PATCH or PUT, whichever is smaller
  results.push(await e.patch('a', { set: { m: '2' } })); // PATCH
  clock.advance(1000);
  results.push((await e.touch('a', { expiresAtMs: 9_000_000 }))!); // TOUCH
  // Concurrent changes of one session: each its own state, in LSN order.
  results.push(...(await Promise.all([e.saveOne('c', 'v', '"1"'), e.saveOne('c', 'v', '"2"'), e.saveOne('c', 'v', '"3"')])));
  await e.destroy('a');
  assert.equal(seen.length, results.length + 1);
  for (let i = 0; i < results.length; i++) {
    const s = seen[i]!;
    assert.equal(s.state, results[i], `change ${i}: the observer's object is the one the write resolves with`);
    assert.equal(s.lsnThen, s.lsn, `change ${i}: the lsn was filled in before the observer saw it`);
    assert.equal(results[i]!.lsn, s.lsn, `change ${i}`);
  }
  assert.deepEqual(
    seen.map((s) => s.lsn),
    seen.map((_, i) => seen[0]!.lsn + i),
    'one lsn each, in order',
  );
  assert.equal(seen.at(-1)!.state, undefined, 'a destroy appends no state');
  assert.equal(e.get('b'), results[2], 'get returns the durable state object itself');
  assert.equal(e.get('c'), results.at(-1));
  assert.equal(e.get('c')!.attrs, '"v"\u0001"3"');
  const before = e.all().sort((x, y) => x.id.localeCompare(y.id));
  await e.close();
  const again = await SessionEngine.open(opts);
  assert.deepEqual(again.all().sort((x, y) => x.id.localeCompare(y.id)), before, 'a reopen rebuilds the same states, lsn included');
  await again.close();
});
