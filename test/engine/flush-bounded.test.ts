/** flush() and compact() finish in bounded time under any load (kind: unit, on the simulated file layer). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { DB_FILE_NAME } from '../../src/format/constants.js';
import { wrapFileSystem } from '../support/wrap-file-system.js';
import type { FileSystem } from '../../src/fs/file-system.js';

const DIR = '/s';
const FLUSH_INTERVAL_MS = 10;

/** A database file whose fdatasync takes longer than a flush interval: every cycle outlasts the timer. */
function slowDatabaseDisk(): FileSystem {
  return wrapFileSystem(new SimFileSystem(), (path, h) => ({
    datasync: async () => {
      // Disk latency, not a wait for the test's sake: the flusher's timer runs on real time.
      if (path.endsWith(DB_FILE_NAME)) await new Promise((r) => setTimeout(r, FLUSH_INTERVAL_MS * 2));
      return h.datasync();
    },
  }));
}

for (const op of ['flush', 'compact'] as const) {
  test(`${op}() resolves within a few flush cycles while a steady writer keeps the flusher busy (regression: it waited for an empty dirty set)`, async () => {
    const e = await SessionEngine.open({ dir: DIR, fs: slowDatabaseDisk(), clock: new ManualClock(), flushIntervalMs: FLUSH_INTERVAL_MS, expiryIntervalMs: 3_600_000 });
    const cycles = async (): Promise<number> => (await e.stats()).flush.cycles;
    let resolved = false;
    let writerDone = false;
    const writer = (async () => {
      // Without the fix the flush never resolves while this runs: stop after 25 cycles so the test ends.
      for (let i = 0; !resolved && (await cycles()) < 25; i++) {
        await e.save(`${'W'.repeat(20)}${String(i % 50).padStart(4, '0')}`, { attributes: { n: String(i) } });
      }
      writerDone = true;
    })();
    while ((await cycles()) < 2) await new Promise((r) => setImmediate(r)); // the load is on
    const before = await cycles();
    await e[op]();
    const after = await cycles();
    const writing = !writerDone;
    resolved = true;
    await writer;
    assert.ok(writing, `${op}() must resolve while the writer is still writing`);
    // compact() then moves images while the flusher goes on: only flush() has a cycle bound.
    if (op === 'flush') assert.ok(after - before <= 3, `flush() waited ${after - before} cycles`);
    await e.close();
  });
}
