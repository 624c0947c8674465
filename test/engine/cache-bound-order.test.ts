/**
 * The load of a cold session keeps later calls behind earlier ones (kind: unit): the
 * CacheBound's load entry stays until every waiter has resumed, so a call made after the
 * load finished but before an earlier waiter resumed still waits (and so resumes after it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CacheBound } from '../../src/engine/cache-bound.js';
import { SessionCache } from '../../src/engine/session-cache.js';
import { encodePut } from '../../src/session/session-encoder.js';
import { makeState } from '../../src/session/session-state.js';
import { summarizeState } from '../../src/session/image-summary.js';

const ID = 'orderorderorderorder0001';

function fixture(): { cache: SessionCache; bound: CacheBound; release: () => void } {
  const cache = new SessionCache();
  const s = makeState(ID, 3, 17, 1000, 2000, 0, 60_000, 'srv', '"a"\u00011');
  cache.cold.set(ID, summarizeState(s));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const bound = new CacheBound(
    cache,
    {
      imageLsnOf: () => 17,
      readImage: async () => {
        await gate;
        return { data: encodePut(s), lsn: 17 };
      },
    },
    1 << 20,
  );
  return { cache, bound, release };
}

test('a call arriving after the load finished, before an earlier waiter resumed, still waits behind it', async () => {
  const { cache, bound, release } = fixture();
  const w1 = bound.ensure(ID);
  assert.ok(w1 !== undefined, 'a cold session makes the caller wait');
  release();
  await w1.promise; // the load is done; this waiter has resumed but not yet said so
  assert.equal(cache.visible.get(ID)?.version, 3, 'loaded');
  assert.ok(!cache.cold.has(ID));
  const w2 = bound.ensure(ID);
  assert.ok(w2 !== undefined, 'a later call overtook a waiter that had not resumed yet');
  w1.done();
  await w2.promise;
  w2.done();
  assert.equal(bound.ensure(ID), undefined, 'once every waiter resumed, a loaded session needs no wait');
  assert.equal(bound.loaded, 1, 'one read for every waiter');
});

test('eviction keeps a session whose image the database does not hold at its lsn', () => {
  const { cache, bound } = fixture();
  const s = makeState('evicteviceviceviceviceev', 1, 20, 1000, 2000, 0, 60_000, 'srv', '"x"\u0001' + JSON.stringify('y'.repeat(2 << 20)));
  cache.visible.set(s.id, s); // over the 1 MiB bound; imageLsnOf says 17, not 20
  assert.equal(bound.evict(), 1);
  assert.ok(cache.visible.has(s.id), 'evicted a session the database file does not hold');
  bound.stop();
});
