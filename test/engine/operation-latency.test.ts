/** The engine's latency histograms count every completed operation by kind (kind: unit, simulated file layer). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { OPERATION_KINDS } from '../../src/engine/operation-latency.js';

const ID = 'AAAAAAAAAAAAAAAAAAAAAAAA';

test('stats count each get, save, patch, touch, destroy, fsync and flush in its own latency histogram', async () => {
  const e = await SessionEngine.open({ dir: '/s', fs: new SimFileSystem(), clock: new ManualClock(), flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000 });
  try {
    const before = await e.stats();
    for (const k of OPERATION_KINDS) assert.equal(before.latencyMs[k].count, 0, k);

    await e.save(ID, { attributes: { a: '1' } });
    await e.save(ID, { attributes: { a: '2' } });
    await e.patch(ID, { set: { b: '3' } });
    await e.touch(ID);
    e.get(ID);
    e.get('absent-absent-absent-1');
    e.get(ID);
    await e.flush();
    assert.equal(await e.destroy(ID), true);

    const st = await e.stats();
    assert.deepEqual(
      Object.fromEntries(OPERATION_KINDS.filter((k) => k !== 'fsync').map((k) => [k, st.latencyMs[k].count])),
      { get: 3, save: 2, patch: 1, touch: 1, destroy: 1, flush: 1 },
    );
    // Five changes, each its own group commit (every call awaited the previous one).
    assert.equal(st.latencyMs.fsync.count, 5);
    assert.equal(st.log.fsyncMs.samples, 5);
    assert.equal(st.log.groupRecords.count, 5);
    assert.equal(st.log.groupRecords.max, 1);
    for (const k of OPERATION_KINDS) {
      const l = st.latencyMs[k];
      assert.ok(l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max, `${k} percentiles ordered`);
    }
  } finally {
    await e.close();
  }
});

test('a group commit of many saves records its size once', async () => {
  const e = await SessionEngine.open({ dir: '/s', fs: new SimFileSystem(), clock: new ManualClock(), flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000 });
  try {
    await Promise.all(Array.from({ length: 8 }, (_, i) => e.save(`${ID}${i}`, { attributes: { i: String(i) } })));
    const st = await e.stats();
    assert.equal(st.latencyMs.save.count, 8);
    assert.equal(st.log.groupRecords.count, 1);
    assert.equal(st.log.groupRecords.max, 8);
  } finally {
    await e.close();
  }
});
