/**
 * Serving while recovering (issue 8; kind: unit, on the simulated file layer): an open
 * after a crash replays the logs and returns without writing the replayed sessions into the
 * database file; the flusher folds them in the background and resets the kept log once the
 * file holds all of it. While it runs, every session the logs hold is served (decoded on
 * demand, never "absent"), writes build on the replayed state, and a crash at any point of
 * the fold loses nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import type { EngineOptionsInput } from '../../src/options.js';
import { Gate, wrapFileSystem } from '../support/wrap-file-system.js';

const N = 30;

function idOf(i: number): string {
  return `fold${String(i).padStart(20, '0')}`;
}

function attrsOf(i: number): Record<string, string> {
  return { user: JSON.stringify(`user-${i}`), n: String(i), pad: JSON.stringify('x'.repeat(200)) };
}

function opts(fs: FileSystem, clock: ManualClock, extra: Partial<EngineOptionsInput> = {}): EngineOptionsInput {
  return { dir: '/f', fs, clock, flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000, ...extra };
}

/** Writes to sessions.db wait at `gate` while it is closed: the background fold holds there. */
function gated(inner: FileSystem, gate: Gate): FileSystem {
  return wrapFileSystem(inner, (path, h) => ({
    writev: async (b, p) => {
      if (path.endsWith('sessions.db')) await gate.pass();
      return h.writev(b, p);
    },
  }));
}

/** What every session should read as after `changes` (i: patched when i % 3 == 0, destroyed when i % 7 == 6). */
function expected(i: number): Record<string, string> | undefined {
  if (i % 7 === 6) return undefined;
  return i % 3 === 0 ? { ...attrsOf(i), n: `p${i}` } : attrsOf(i);
}

/**
 * A store whose changes are all only in the log (one flushed session excepted, so the file
 * exists), then a process crash: what the reopen must recover without losing any.
 */
async function crashedStore(seed: number, extra: Partial<EngineOptionsInput> = {}): Promise<{ fs: SimFileSystem; clock: ManualClock }> {
  const clock = new ManualClock();
  const fs = new SimFileSystem(seed);
  const e = await SessionEngine.open(opts(fs, clock, extra));
  await e.save('flushed00000000000000000', { attributes: { a: '1' } });
  await e.flush();
  for (let i = 0; i < N; i++) await e.save(idOf(i), { attributes: attrsOf(i) });
  for (let i = 0; i < N; i += 3) await e.patch(idOf(i), { set: { n: `p${i}` } });
  for (let i = 6; i < N; i += 7) await e.destroy(idOf(i));
  return { fs: fs.crash(seed, { mode: 'keep-all' }), clock };
}

function checkAll(e: SessionEngine, what: string): void {
  for (let i = 0; i < N; i++) {
    const s = e.get(idOf(i));
    const want = expected(i);
    if (want === undefined) assert.equal(s, undefined, `${what}: destroyed session ${i} came back`);
    else {
      assert.ok(s !== undefined, `${what}: session ${i} answered absent`);
      assert.deepEqual(Object.fromEntries(attributesFromBlob(s.attrs)), want, `${what}: session ${i}`);
      assert.equal(s.version, i % 3 === 0 ? 2 : 1, `${what}: version of session ${i}`);
    }
  }
  assert.equal(e.get('flushed00000000000000000')?.version, 1, `${what}: the flushed session`);
}

test('a reopen serves every session the logs hold while the fold runs in the background, and writes build on the replayed state', async () => {
  const { fs: survivor, clock } = await crashedStore(3);
  const gate = new Gate();
  gate.close(); // the fold's first database write waits here
  const e = await SessionEngine.open(opts(gated(survivor, gate), clock));
  let st = await e.stats();
  assert.equal(st.recovering.active, true, 'the open returned before the fold');
  assert.ok(st.recovering.sessions >= N, `${st.recovering.sessions} sessions handed to the fold`);
  assert.equal(st.db.liveImages, 1, 'nothing replayed was written by the open');
  assert.ok(e.recovery.recordsReplayed >= N);
  checkAll(e, 'during the fold');
  for (let i = 0; i < N; i++) {
    const s = await e.read(idOf(i));
    assert.equal(s === undefined, expected(i) === undefined, `read of session ${i} during the fold`);
  }
  assert.equal(e.count(), N - Math.floor(N / 7) + 1);
  // A write during the fold follows the replayed state: version and the other attributes kept.
  const p = await e.patch(idOf(1), { set: { extra: '"e"' } });
  assert.equal(p.version, 2);
  assert.deepEqual(Object.fromEntries(attributesFromBlob(p.attrs)), { ...attrsOf(1), extra: '"e"' });
  assert.equal((await e.stats()).recovering.active, true, 'still folding: the gate holds it');
  gate.open();
  await e.flush();
  st = await e.stats();
  assert.equal(st.recovering.active, false, 'the kept log was released once folded');
  assert.equal(st.db.liveImages, N - Math.floor(N / 7) + 1, 'every live session has its image');
  await e.close();
  const e2 = await SessionEngine.open(opts(survivor, clock));
  assert.equal((await e2.stats()).recovering.active, false);
  assert.equal(e2.recovery.recordsReplayed, 0, 'the close left nothing to replay');
  assert.equal(attributesFromBlob(e2.get(idOf(1))!.attrs).get('extra'), '"e"');
  await e2.close();
});

test('a crash at every file-system operation of the open and its background fold loses nothing', { timeout: 600_000 }, async () => {
  let k = 1;
  for (; k < 400; k++) {
    const { fs, clock } = await crashedStore(5);
    fs.crashAtOp(k, 100 + k, { mode: 'tear' });
    try {
      const e = await SessionEngine.open(opts(fs, clock));
      await e.flush();
      await e.close();
    } catch {
      // the crash
    }
    const survivor = fs.crashed;
    if (survivor === undefined) break; // past the last operation: every point was crashed
    const e = await SessionEngine.open(opts(survivor, clock));
    checkAll(e, `crash at operation ${k}`);
    await e.close();
  }
  assert.ok(k > 20, `only ${k} operations in the open and fold`);
  assert.ok(k < 400, 'the enumeration ended');
});

test('a process crash while the fold holds, then a power loss during the next open, loses nothing', async () => {
  const { fs, clock } = await crashedStore(7);
  const gate = new Gate();
  gate.close();
  const e = await SessionEngine.open(opts(gated(fs, gate), clock));
  await e.save(idOf(100), { attributes: { after: '1' } });
  // The process dies with the fold held: the kept log and the new one both hold records.
  const again = fs.crash(8, { mode: 'keep-all' });
  const e2 = await SessionEngine.open(opts(again, clock));
  checkAll(e2, 'after the second crash');
  assert.equal(e2.get(idOf(100))?.version, 1);
  // Power loss right after that open: what it kept (and synced) must still be there.
  const third = again.crash(9, { mode: 'tear' });
  const e3 = await SessionEngine.open(opts(third, clock));
  checkAll(e3, 'after the power loss');
  assert.equal(e3.get(idOf(100))?.version, 1);
  await e3.close();
});

test('when both logs hold records not folded, the open folds the older one and keeps the newer', async () => {
  const clock = new ManualClock();
  const inner = new SimFileSystem(13);
  const gate = new Gate();
  const e = await SessionEngine.open(opts(gated(inner, gate), clock, { logSwapBytes: 4096 }));
  await e.save('flushed00000000000000000', { attributes: { a: '1' } });
  await e.flush();
  gate.close(); // the flusher cannot fold: the swapped log stays
  for (let i = 0; i < N; i++) await e.save(idOf(i), { attributes: attrsOf(i) });
  for (let i = 0; i < N; i += 3) await e.patch(idOf(i), { set: { n: `p${i}` } });
  for (let i = 6; i < N; i += 7) await e.destroy(idOf(i));
  const st0 = await e.stats();
  assert.ok(st0.log.logBytes[0] > 4096 && st0.log.logBytes[1] > 4096, `both logs hold records: ${st0.log.logBytes.join(', ')}`);
  const survivor = inner.crash(14, { mode: 'keep-all' });
  // The open folds the older log; a crash before the background fold of the rest loses nothing.
  const held = new Gate();
  const e1 = await SessionEngine.open(opts(gated(survivor, held), clock, { logSwapBytes: 4096 }));
  held.close();
  checkAll(e1, 'after the partial fold');
  const st = await e1.stats();
  assert.ok(st.db.liveImages > 1, 'the older log was folded by the open');
  assert.equal(st.recovering.active, true);
  const again = survivor.crash(16, { mode: 'tear' });
  const e2 = await SessionEngine.open(opts(again, clock, { logSwapBytes: 4096 }));
  checkAll(e2, 'after a crash during the background fold');
  await e2.flush();
  assert.equal((await e2.stats()).recovering.active, false);
  await e2.close();
  const e3 = await SessionEngine.open(opts(again.crash(15, { mode: 'tear' }), clock, { logSwapBytes: 4096 }));
  checkAll(e3, 'reopened after the fold');
  await e3.close();
});

test('the kept log is synced before the other log is reset: after a process crash its tail may be in the page cache only', async () => {
  // The simulator writes the page cache out at a process crash ('keep-all'), so the order is checked instead.
  const { fs, clock } = await crashedStore(17);
  const ops: string[] = [];
  const logged = wrapFileSystem(fs, (path, h) => ({
    datasync: async () => {
      ops.push(`datasync ${path.slice(path.lastIndexOf('/') + 1)}`);
      return h.datasync();
    },
    writev: async (b, p) => {
      ops.push(`writev ${path.slice(path.lastIndexOf('/') + 1)}`);
      return h.writev(b, p);
    },
  }));
  const e = await SessionEngine.open(opts(logged, clock));
  assert.equal((await e.stats()).recovering.active, true);
  const synced = ops.indexOf('datasync log-0');
  const reset = ops.indexOf('writev log-1');
  assert.ok(synced >= 0 && reset > synced, `kept log-0 synced at ${synced}, log-1 reset at ${reset}: ${ops.join(', ')}`);
  await e.close();
});
