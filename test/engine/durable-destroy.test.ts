/**
 * A destroy is always durable: logged even for an absent session, and acknowledged only
 * once fdatasynced, whatever the durability level (kind: unit, on the simulated file layer).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import type { EngineOptionsInput } from '../../src/options.js';

const DIR = '/s';
const A = 'AAAAAAAAAAAAAAAAAAAAAAAA';
const T0 = 1_700_000_000_000;

function opts(fs: SimFileSystem, clock: ManualClock): EngineOptionsInput {
  return { dir: DIR, fs, clock, flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000 };
}

test('destroying an unknown ID is durable too: the destroy resolves after its record is synced', async () => {
  const fs = new SimFileSystem();
  const clock = new ManualClock(T0);
  const e = await SessionEngine.open(opts(fs, clock));
  assert.equal(await e.destroy(A), false);
  const e2 = await SessionEngine.open(opts(fs.crash(3, { mode: 'drop-all' }), clock));
  assert.equal(e2.isDestroyed(A), true);
  await e2.close();
});

for (const durability of ['interval', 'none'] as const) {
  test(`with durability '${durability}' a destroy resolves only once its record is fdatasynced: a power loss right after keeps it`, async () => {
    const fs = new SimFileSystem();
    const clock = new ManualClock(T0);
    const e = await SessionEngine.open({ ...opts(fs, clock), durability, fsyncIntervalMs: 60_000 });
    await e.save(A, { attributes: { user: '"ann"' } });
    assert.equal(await e.destroy(A), true);
    const e2 = await SessionEngine.open(opts(fs.crash(4, { mode: 'drop-all' }), clock));
    assert.equal(e2.get(A), undefined, 'the destroyed session stays gone');
    assert.equal(e2.isDestroyed(A), true);
    await e2.close();
  });
}

test("with durability 'none' a destroy waiting for its fdatasync does not hold back later writes (regression: acknowledgements out of order)", async () => {
  const fs = new SimFileSystem();
  const e = await SessionEngine.open({ ...opts(fs, new ManualClock(T0)), durability: 'none' });
  const ids = Array.from({ length: 20 }, (_, i) => `${'C'.repeat(20)}${String(i).padStart(4, '0')}`);
  await Promise.all(ids.map((id) => e.save(id, { attributes: {} })));
  // Destroys and saves interleaved in one turn: the saves' records come after the destroys'.
  await Promise.all(ids.map((id, i): Promise<unknown> => (i % 2 === 0 ? e.destroy(id) : e.save(id, { attributes: { n: '1' } }))));
  assert.equal(e.count(), 10);
  await e.close();
});
