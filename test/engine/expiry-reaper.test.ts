/**
 * The expiry reaper against a pending renewal (kind: unit, on the simulated file layer).
 * A session whose durable state has expired while a touch that extends it waits for its
 * fdatasync must not be reclaimed: a flush in between would fold "absent" into the
 * database file past the session's PUT, and the touch, acknowledged later, would then have
 * no base to replay onto after a crash (the reaper's twin of the flusher's expired-touch
 * test in session-engine.test.ts). Mutation found uncaught: dropping the reaper's
 * `cache.head(id) === s` check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import type { EngineOptionsInput } from '../../src/options.js';
import { Gate, wrapFileSystem } from '../support/wrap-file-system.js';

const DIR = '/r';
const ID = 'RRRRRRRRRRRRRRRRRRRRRRRR';

function opts(fs: FileSystem, clock: ManualClock, more: Partial<EngineOptionsInput> = {}): EngineOptionsInput {
  return { dir: DIR, fs, clock, flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000, ...more };
}

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

test('the reaper leaves an expired session whose pending touch extends it: a flush, the touch acknowledged, a power loss keep it', async () => {
  const clock = new ManualClock(undefined, { timers: true }); // advance() fires the reaper and flush timers
  const sim = new SimFileSystem(3);
  // Holds only the log's fdatasync: the reaper and the flusher run while the touch waits.
  const gate = new Gate();
  const fs = wrapFileSystem(sim, (path, h) => ({
    datasync: async () => {
      if (/log-\d$/.test(path)) await gate.pass();
      return h.datasync();
    },
  }));
  // Reaper ticks at +150 ms (the durable state has just expired), the flusher at +300 ms.
  const e = await SessionEngine.open(opts(fs, clock, { expiryIntervalMs: 150, flushIntervalMs: 300 }));
  await e.save(ID, { attributes: { a: '1' }, expiresAtMs: clock.now() + 100 });
  gate.close();
  const touched = e.touch(ID, { expiresAtMs: clock.now() + 60_000 });
  clock.advance(150); // the reaper's tick: expired durable state, pending touch
  await turns(20);
  assert.ok(e.get(ID), 'the pending touch keeps the session alive');
  clock.advance(150); // the flusher's tick, while the touch still waits
  await turns(20);
  gate.open();
  assert.ok(await touched, 'the touch was acknowledged');
  assert.ok(e.get(ID), 'alive after the acknowledgement');
  const survivor = sim.crash(11, { mode: 'drop-all' }); // power loss before any further flush
  await e.close().catch(() => undefined);
  const e2 = await SessionEngine.open(opts(survivor, clock));
  const s = e2.get(ID);
  assert.ok(s, 'an acknowledged touch must not lose the session');
  assert.equal(s.expiresAtMs, clock.now() - 300 + 60_000);
  await e2.close();
});

test('the reaper reclaims a session left on disk (cacheBytesMax) only once it has expired, never a tick early', async () => {
  const clock = new ManualClock(1_700_000_000_000, { timers: true }); // advance() fires the reaper
  const n = 40;
  const idOf = (i: number): string => `cold${String(i).padStart(20, '0')}`;
  // A bound of about one loaded session: the rest live on disk, summarized (docs/memory.md).
  const e = await SessionEngine.open(opts(new SimFileSystem(5), clock, { cacheBytesMax: 2048, expiryIntervalMs: 1_000 }));
  for (let i = 0; i < n; i++) await e.save(idOf(i), { attributes: { pad: JSON.stringify('x'.repeat(300)) }, expiresAtMs: clock.now() + 1_500 });
  await e.flush();
  await turns(5);
  const cold = (await e.stats()).cache.cold;
  assert.ok(cold > n / 2, `most sessions are on disk: ${cold}`);
  clock.advance(1_000); // a reaper tick 500 ms before they expire
  await turns(5);
  assert.equal((await e.stats()).cache.cold, cold, 'no session on disk was reclaimed before its expiry');
  assert.equal(e.count(), n, 'every session is still alive');
  clock.advance(1_000); // the next tick, after the expiry
  await turns(5);
  assert.equal(e.count(), 0);
  assert.equal((await e.stats()).cache.cold, 0, 'expired sessions on disk are reclaimed');
  await e.close();
});
