// The principal index against expiry (SPEC B5): the two places that drop an expired session
// from the cache without a log record, the reaper and the flusher, move the index too.
// Unit tests on the simulated file layer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionCache } from '../../src/engine/session-cache.js';
import { ExpiryReaper } from '../../src/engine/expiry-reaper.js';
import { Tombstones } from '../../src/engine/tombstones.js';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { makeState } from '../../src/session/session-state.js';

const T0 = 1_700_000_000_000;

test('the reaper moves the index when it reclaims an expired session', () => {
  const cache = new SessionCache();
  let now = T0;
  cache.apply(makeState('short', 1, 1, T0, T0, T0 + 50, 0, 'o', '', 'alice'), now);
  cache.apply(makeState('long', 1, 2, T0, T0, T0 + 5_000, 0, 'o', '', 'alice'), now);
  const reaper = new ExpiryReaper(cache, new Tombstones(1000, 10), () => now, 100, 100, () => () => undefined);
  now += 100;
  assert.equal(reaper.tick(), 1);
  assert.deepEqual([...cache.principals.ids('alice')], ['long']);
  assert.equal(cache.principals.sessions, 1);
});

test('the flusher moves the index when a session expired before it was written', async () => {
  const clock = new ManualClock(T0);
  const e = await SessionEngine.open({ dir: '/x', fs: new SimFileSystem(5), clock, principal: 'user', flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000 });
  await e.save('short', { attributes: { user: '"alice"' }, expiresAtMs: T0 + 50 });
  await e.save('long', { attributes: { user: '"alice"' } });
  clock.advance(100);
  await e.flush(); // 'short' is dirty and expired: the flusher drops it from the cache
  assert.deepEqual(e.sessionsOf('alice').map((s) => s.id), ['long']);
  await e.save('short2', { attributes: { user: '"alice"' } });
  assert.deepEqual(e.sessionsOf('alice').map((s) => s.id).sort(), ['long', 'short2']);
  await e.close();
});
