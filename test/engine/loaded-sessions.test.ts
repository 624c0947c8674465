/**
 * The cache's byte count of loaded sessions (kind: unit, on the simulated file layer): it
 * is the sum of stateBytes over the loaded states after new sessions, replacements of every
 * size, destroys and a reopen, whichever path set the state (set, or replace with the state
 * the cache has just read). cacheBytesMax evicts by this count (cache-bound.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { LoadedSessions, stateBytes } from '../../src/engine/loaded-sessions.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { makeState } from '../../src/session/session-state.js';

async function loadedBytes(e: SessionEngine): Promise<{ counted: number; summed: number }> {
  const summed = e.all().reduce((n, s) => n + stateBytes(s), 0);
  return { counted: (await e.stats()).cache.bytes, summed };
}

test('cache bytes stay the sum over loaded states through saves that grow, shrink and destroy sessions, and a reopen', async () => {
  const fs = new SimFileSystem();
  const clock = new ManualClock();
  const opts = { dir: '/s', fs, clock, flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000 };
  let e = await SessionEngine.open(opts);
  for (let round = 0; round < 4; round++) {
    // sess-0 .. sess-(round - 1) are destroyed by now: a save would be refused.
    await Promise.all(Array.from({ length: 20 - round }, (_, k) => k + round).map((i) => e.save(`sess-${i}`, { attributes: { v: JSON.stringify('x'.repeat(((i + round) * 37) % 200)) } })));
    await e.destroy(`sess-${round}`);
    const b = await loadedBytes(e);
    assert.equal(b.counted, b.summed, `round ${round}`);
  }
  await e.close();
  e = await SessionEngine.open(opts);
  await e.save('sess-7', { attributes: { v: '"after the reopen"' } });
  const b = await loadedBytes(e);
  assert.equal(b.counted, b.summed);
  await e.close();
});

test('LoadedSessions: set counts the bytes of what it holds, and keeps the order of last use when ordered', () => {
  for (const ordered of [false, true]) {
    const m = new LoadedSessions();
    m.ordered = ordered;
    const state = (id: string, attrs: string) => makeState(id, 1, 1, 0, 0, 0, 0, '', attrs);
    for (const [id, attrs] of [['a', 'x'], ['b', 'yy'], ['a', 'zzzz'], ['c', ''], ['a', 'w']] as const) m.set(id, state(id, attrs));
    assert.equal(m.bytes, [...m.values()].reduce((n, s) => n + stateBytes(s), 0));
    assert.equal(m.size, 3);
    assert.deepEqual([...m.keys()], ordered ? ['b', 'c', 'a'] : ['a', 'b', 'c'], `ordered ${ordered}: last use last, or first insertion`);
  }
});
