/** The flusher's loop of cycles (kind: unit, fake cache and database). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Flusher, type FlusherDeps } from '../../src/engine/flusher.js';

/** Deps whose cycles find nothing dirty: each writes one empty batch and resolves. */
function emptyDeps(): { deps: FlusherDeps; batches: () => number } {
  let batches = 0;
  const cache = { appliedLsn: 1, takeDirty: () => new Set<string>(), cold: { has: () => false, packed: () => undefined }, visible: new Map() };
  const db = {
    appliedLsn: 0,
    has: () => false,
    writeBatch: async (b: { appliedLsn: number }) => {
      batches++;
      db.appliedLsn = b.appliedLsn;
      cache.appliedLsn++; // every cycle has something to apply
    },
  };
  const deps = {
    cache, db, now: () => 0, every: () => () => undefined, flushIntervalMs: 1000, flushBatchBytesMax: 1 << 20, flushSliceMsMax: 2,
    syncLog: () => Promise.resolve(), releaseLog: () => Promise.resolve(), onFatal: () => undefined,
  } as unknown as FlusherDeps;
  return { deps, batches: () => batches };
}

test('a flush() called by a waiter the loop just resolved gets a cycle of its own (regression: it waited for a loop that had ended; close() hung)', async () => {
  const { deps, batches } = emptyDeps();
  const f = new Flusher(deps);
  // Called in the resolution of the first, before anything else runs: as close() does after a flush the workload awaited.
  const second = await new Promise<Promise<void>>((resolve) => void f.flush().then(() => resolve(f.flush())));
  await second; // without the fix: pending forever, and the test fails when the event loop empties
  assert.equal(batches(), 2);
  assert.equal(f.stats.cycles, 2);
});

test('flush() calls made while a cycle runs share the next cycle', async () => {
  const { deps } = emptyDeps();
  const f = new Flusher(deps);
  const first = f.flush();
  const more = [f.flush(), f.flush()];
  await Promise.all([first, ...more]);
  assert.equal(f.stats.cycles, 2);
});
