/**
 * The cache's one entry per session (kind: unit): a loaded state and a dirty mark reached
 * by one look-up (loaded-sessions.ts, session-cache.ts). Readers of the loaded map see only
 * entries with a state; a deleted or unloaded session's entry stays while it is dirty, the
 * flusher takes it in the order it was first marked, and then it is gone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionCache } from '../../src/engine/session-cache.js';
import { LoadedSessions, stateBytes } from '../../src/engine/loaded-sessions.js';
import { makeState, type SessionState } from '../../src/session/session-state.js';

let lsn = 0;
const state = (id: string, attrs = '"v"\u0001"x"'): SessionState => makeState(id, 1, ++lsn, 0, 0, 0, 0, '', attrs);

test('a deleted session is dirty but not loaded until the flusher takes it, then its entry is gone', () => {
  const cache = new SessionCache();
  cache.apply(state('a'), 1);
  cache.apply(state('b'), 1);
  assert.deepEqual(cache.takeDirty().map((e) => e.id), ['a', 'b']);
  cache.applyDelete('a', ++lsn, 2);
  assert.equal(cache.visible.size, 1);
  assert.deepEqual([...cache.visible.keys()], ['b']);
  assert.equal(cache.visible.get('a'), undefined);
  assert.equal(cache.visible.has('a'), false);
  assert.equal(cache.isDirty('a'), true);
  assert.equal(cache.dirtyCount, 1);
  assert.equal(cache.visible.bytes, stateBytes(cache.visible.get('b')!));
  const taken = cache.takeDirty();
  assert.deepEqual(taken.map((e) => [e.id, e.state, e.dirty]), [['a', undefined, false]]);
  assert.equal(cache.visible.entryOf('a'), undefined, 'dropped once taken');
  assert.equal(cache.isDirty('a'), false);
  assert.equal(cache.dirtyCount, 0);
});

test('saves and destroys of many sessions leave no entry behind once the flusher has taken them', () => {
  const cache = new SessionCache();
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 50; i++) cache.apply(state(`s${i}`), round);
    for (let i = 0; i < 50; i += 2) cache.applyDelete(`s${i}`, ++lsn, round);
    cache.takeDirty();
    for (let i = 1; i < 50; i += 2) cache.reclaim(`s${i}`, round);
    const taken = cache.takeDirty();
    assert.equal(taken.length, 25, `round ${round}`);
    for (let i = 0; i < 50; i++) assert.equal(cache.visible.entryOf(`s${i}`), undefined, `round ${round}: s${i}`);
    assert.equal(cache.visible.size, 0);
    assert.equal(cache.visible.bytes, 0);
  }
});

test('a session marked dirty while not loaded (packed, cold) counts as loaded only once its state is set', () => {
  const cache = new SessionCache();
  cache.markDirty('p', 1);
  assert.equal(cache.visible.size, 0);
  assert.deepEqual([...cache.visible], []);
  assert.equal(cache.isDirty('p'), true);
  const s = state('p');
  cache.visible.set('p', s);
  assert.equal(cache.visible.size, 1);
  assert.deepEqual([...cache.visible], [['p', s]]);
  assert.equal(cache.visible.bytes, stateBytes(s));
  const [e] = cache.takeDirty();
  assert.equal(e!.state, s, 'an entry with a state stays in the map');
  assert.equal(cache.visible.entryOf('p'), e);
});

test('marked twice before the flusher takes it, a session is taken once; marked after, it is taken again', () => {
  const cache = new SessionCache();
  cache.apply(state('a'), 5);
  cache.apply(state('b'), 6);
  cache.apply(state('a'), 7);
  assert.equal(cache.oldestDirtyMs, 5);
  assert.deepEqual(cache.takeDirty().map((e) => e.id), ['a', 'b']);
  assert.equal(cache.oldestDirtyMs, 0);
  cache.apply(state('b'), 8);
  assert.deepEqual(cache.takeDirty().map((e) => e.id), ['b']);
});

test('ordered: a dirty entry without a state that is loaded again moves to the warm end', () => {
  const m = new LoadedSessions();
  m.ordered = true;
  m.set('a', state('a'));
  const e = m.entryFor('x'); // made without a state, at the end
  e.dirty = true;
  m.set('b', state('b'));
  m.set('x', state('x'));
  assert.deepEqual([...m.keys()], ['a', 'b', 'x']);
  m.used('a');
  assert.deepEqual([...m.keys()], ['b', 'x', 'a']);
});

test('unloading a clean entry drops it; a dirty one keeps its place without a state', () => {
  const m = new LoadedSessions();
  m.set('a', state('a'));
  m.set('b', state('b'));
  m.entryOf('b')!.dirty = true;
  assert.equal(m.delete('a'), true);
  assert.equal(m.delete('a'), false);
  assert.equal(m.entryOf('a'), undefined);
  assert.equal(m.delete('b'), true);
  assert.notEqual(m.entryOf('b'), undefined);
  assert.equal(m.size, 0);
  assert.equal(m.bytes, 0);
  const seen: string[] = [];
  m.forEach((_s, id) => seen.push(id));
  assert.deepEqual(seen, []);
});
