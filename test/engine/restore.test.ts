/** engine.restore, the write behind `sessiond import` (kind: unit of the engine on the simulated file system, with a crash). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { ManualClock } from '../../src/clock.js';
import { isSessiondError } from '../../src/errors.js';
import type { RestoreInput } from '../../src/engine/restore-plan.js';

const T0 = Date.UTC(2026, 0, 1);
const input = (over: Partial<RestoreInput> = {}): RestoreInput => ({ attributes: { user: '"ann"' }, createdAtMs: T0 - 5000, lastAccessAtMs: T0 - 1000, expiresAtMs: T0 + 60_000, maxInactiveMs: 0, owner: 'elsewhere', ...over });

test('restore keeps the given times and owner, and a power loss after it resolves keeps them too', async () => {
  const fs = new SimFileSystem();
  const clock = new ManualClock(T0);
  const e = await SessionEngine.open({ dir: '/r', fs, clock, owner: 'here' });
  assert.equal(await e.restore('r1', input()), 'written');
  assert.equal(await e.restore('r2', input({ owner: undefined, maxInactiveMs: 30_000 })), 'written');
  const after = await SessionEngine.open({ dir: '/r', fs: fs.crash(5, { mode: 'drop-all' }), clock, owner: 'here' });
  const s = after.get('r1')!;
  assert.deepEqual([s.createdAtMs, s.lastAccessAtMs, s.expiresAtMs, s.maxInactiveMs, s.owner], [T0 - 5000, T0 - 1000, T0 + 60_000, 0, 'elsewhere']);
  assert.equal(after.get('r2')!.owner, 'here', 'no owner: the store\'s');
  assert.equal(after.get('r2')!.maxInactiveMs, 30_000);
  await after.close();
});

test('restore refuses malformed input by field, and an invalid ID, with typed errors', async () => {
  const e = await SessionEngine.open({ dir: '/r', fs: new SimFileSystem(), clock: new ManualClock(T0) });
  for (const [bad, field] of [
    [{ ...input(), createdAtMs: undefined }, 'input.createdAtMs'],
    [{ ...input(), lastAccessAtMs: -1 }, 'input.lastAccessAtMs'],
    [{ ...input(), maxInactiveMs: 2 ** 32 }, 'input.maxInactiveMs'],
    [{ ...input(), owner: 'o'.repeat(256) }, 'input.owner'],
    [{ ...input(), version: 3 }, 'input.version'],
  ] as const) {
    await assert.rejects(e.restore('x', bad as unknown as RestoreInput), (err: unknown) => isSessiondError(err, 'SESSIOND_INVALID_ARGUMENT') && err.context.argument === field, field);
  }
  await assert.rejects(e.restore('', input()), (err: unknown) => isSessiondError(err, 'SESSIOND_INVALID_SESSION_ID'));
  await assert.rejects(e.restore('big', input({ attributes: { a: JSON.stringify('z'.repeat(2 * 1024 * 1024)) } })), (err: unknown) => isSessiondError(err, 'SESSIOND_SESSION_TOO_LARGE'));
  assert.equal(e.count(), 0);
  await e.close();
});

test('a restore and a save issued in the same tick are ordered by their appends: the later call decides', async () => {
  const clock = new ManualClock(T0);
  const e = await SessionEngine.open({ dir: '/r', fs: new SimFileSystem(), clock });
  // Save first (lastAccess = now = T0), then a restore older than it: the store's copy is newer, even though neither is durable yet.
  const [, older] = await Promise.all([e.save('s1', { attributes: { user: '"saved"' } }), e.restore('s1', input({ lastAccessAtMs: T0 - 1 }))]);
  assert.equal(older, 'newer');
  assert.equal(e.get('s1')!.attrs.includes('"saved"'), true);
  // A restore first, then a save: the save lands on the restored session (keeps its creation time).
  const [written] = await Promise.all([e.restore('s2', input()), e.save('s2', { attributes: { user: '"after"' } })]);
  assert.equal(written, 'written');
  assert.equal(e.get('s2')!.attrs.includes('"after"'), true);
  assert.equal(e.get('s2')!.createdAtMs, T0 - 5000);
  await e.close();
});
