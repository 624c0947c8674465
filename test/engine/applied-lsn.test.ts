/**
 * The cache's applied LSN after recovery (kind: unit, engine on the simulated file layer).
 * Recovery folds everything it read into the database file at nextLsn - 1 and starts the
 * new logs at nextLsn, so the cache starts there too. The highest LSN found in the logs is
 * not that point: once an open has reset the logs, the next one finds none (0). A cache
 * behind the database file would have the flusher write an appliedLsn below the logs'
 * firstLsn, which the open after it reads as an LSN gap (mutation M12).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.js';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { CLOCK_START_MS, engineOptions } from '../crash/crash-harness.js';

const id = (n: number): string => `session-${String(n).padStart(12, '0')}`;

test('after an open that reset the logs, the next open (no records to replay) flushes a reaped session, and the open after it finds no LSN gap', async () => {
  const clock = new ManualClock(CLOCK_START_MS, { timers: true });
  const fs = new SimFileSystem(1);
  const first = await SessionEngine.open(engineOptions(fs, clock));
  for (let i = 0; i < 3; i++) await first.save(id(i), { attributes: { n: String(i) } });
  await first.save(id(9), { attributes: { n: 'short' }, expiresAtMs: clock.now() + 1_000 });
  await first.close();

  // Folds LSNs 1-4 into the database file and resets the logs (firstLsn 5); writes nothing.
  await (await SessionEngine.open(engineOptions(fs, clock))).close();

  const empty = await SessionEngine.open(engineOptions(fs, clock));
  assert.equal(empty.recovery.recordsReplayed + empty.recovery.recordsSkipped, 0, 'the logs hold no records');
  clock.advance(2_000); // the reaper reclaims the expired session: a flush with a delete and no new LSN
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  await empty.flush();
  await empty.close();

  const next = await SessionEngine.open(engineOptions(fs, clock));
  try {
    assert.deepEqual(next.recovery.corruption, []);
    assert.deepEqual(next.ids().sort(), [id(0), id(1), id(2)]);
    const s = await next.save(id(3), { attributes: { n: '3' } });
    assert.ok(s.lsn > 4, `lsn ${s.lsn} reused`);
  } finally {
    await next.close();
  }
});
