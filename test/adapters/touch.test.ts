// touch (kind: unit, real files): express-session touches the session on every request that
// did not change it. The store answers once the TOUCH record is appended, without waiting
// for the fdatasync, so reads never wait for the disk. The record asks for no fdatasync of
// its own: it is written with the next group commit and synced with the next change that
// waits for one, or within fsyncIntervalMs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type session from 'express-session';
import { SessiondStore } from '../../src/adapters/express.js';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { nodeFileSystem } from '../../src/fs/node-file-system.js';
import { Gate, wrapFileSystem } from '../support/wrap-file-system.js';
import { removeDir, tempDir, HANG_GUARD } from './adapter-fixtures.js';
import { isSessiondError } from '../../src/errors.js';

function cbPromise(f: (cb: (err?: unknown) => void) => void): Promise<void> {
  return new Promise((ok, ko) => f((e) => (e ? ko(e) : ok())));
}

test('touch is answered while the fdatasync is still pending, and the new expiry is durable after it', HANG_GUARD, async () => {
  const dir = tempDir('touch');
  const gate = new Gate();
  const fs = wrapFileSystem(nodeFileSystem, (_path, h) => ({
    datasync: async () => {
      await gate.pass();
      return h.datasync();
    },
  }));
  const store = new SessiondStore({ dir, fs });
  const id = 'touchtest' + 'A'.repeat(20);
  const cookie = { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) };
  try {
    await cbPromise((cb) => store.set(id, { cookie, n: 1 } as unknown as session.SessionData, cb));
    gate.close();
    const later = new Date(Date.now() + 3_600_000);
    await cbPromise((cb) => store.touch(id, { cookie: { ...cookie, expires: later } } as unknown as session.SessionData, cb));
    // Answered although its record is not durable yet (no fixed wait: the gate holds every
    // fdatasync, and the record asks for none of its own, docs/durability.md "Lazy touches").
    assert.ok((await store.engine()).hasPending(id), 'the TOUCH record waits for its fdatasync');
    gate.open();
    await store.close();
    const engine = await SessionEngine.open({ dir });
    assert.equal(engine.get(id)!.expiresAtMs, later.getTime());
    await engine.close();
  } finally {
    gate.open();
    removeDir(dir);
  }
});

/** The store's files with the fdatasyncs of its log files counted. */
function countingLogSyncs(): { fs: ReturnType<typeof wrapFileSystem>; syncs: () => number } {
  let n = 0;
  const fs = wrapFileSystem(nodeFileSystem, (path, h) => ({
    datasync: () => {
      if (/log-[01]$/.test(path)) n++;
      return h.datasync();
    },
  }));
  return { fs, syncs: () => n };
}

/** Polls `cond`; gives up (fails) after 30 s, a hang guard rather than a time limit under test. */
const until = async (cond: () => boolean | Promise<boolean>): Promise<void> => {
  const giveUpAt = Date.now() + 30_000;
  while (!(await cond())) {
    if (Date.now() > giveUpAt) throw new Error('the condition never held');
    await new Promise((r) => setTimeout(r, 5));
  }
};

/** A store whose log fdatasyncs are counted, with one session saved: runs `fn`, then closes and removes it. */
async function withCountedStore(
  tag: string,
  fsyncIntervalMs: number,
  fn: (c: { store: SessiondStore; engine: SessionEngine; id: string; syncs: () => number; touch: () => Promise<void>; save: (n: number) => Promise<void> }) => Promise<void>,
): Promise<void> {
  const dir = tempDir(tag);
  const { fs, syncs } = countingLogSyncs();
  const store = new SessiondStore({ dir, fs, fsyncIntervalMs });
  const id = tag.replace(/[^a-z]/g, '') + 'A'.repeat(20);
  const cookie = { originalMaxAge: null, expires: null, httpOnly: true, path: '/' };
  const save = (n: number): Promise<void> => cbPromise((cb) => store.set(id, { cookie, n } as unknown as session.SessionData, cb));
  const touch = (): Promise<void> => cbPromise((cb) => store.touch(id, { cookie, n: 1 } as unknown as session.SessionData, cb));
  try {
    await save(1);
    await fn({ store, engine: await store.engine(), id, syncs, touch, save });
  } finally {
    await store.close();
    removeDir(dir);
  }
}

test('touches cost no fdatasync of their own: written at once, synced by the next save', HANG_GUARD, async () => {
  await withCountedStore('touch-lazy', 60_000, async ({ engine, id, syncs, touch, save }) => {
    const s0 = syncs();
    const { log: { records: r0 }, latencyMs: { touch: t0 } } = await engine.stats();
    for (let i = 0; i < 5; i++) await touch();
    await until(async () => (await engine.stats()).log.records === r0 + 5); // written
    assert.equal(syncs(), s0, 'no fdatasync for touches alone');
    assert.ok(engine.hasPending(id), 'the touches wait for a later fdatasync');
    assert.equal((await engine.stats()).latencyMs.touch.count, t0.count + 5, 'timed when answered, not when synced');
    await save(2);
    assert.equal(syncs(), s0 + 1, 'the save syncs the touches before it with its own record');
    assert.equal(engine.hasPending(id), false);
  });
});

test('a touch nobody syncs is synced within fsyncIntervalMs; the engine API\'s touch still waits for its own fdatasync', HANG_GUARD, async () => {
  await withCountedStore('touch-timer', 20, async ({ engine, id, syncs, touch }) => {
    const s0 = syncs();
    await touch();
    assert.ok(engine.hasPending(id));
    await until(() => !engine.hasPending(id));
    assert.equal(syncs(), s0 + 1);
  });
  const id = 'touchengine' + 'A'.repeat(20);
  const dir2 = tempDir('touch-engine');
  const counted = countingLogSyncs();
  const engine = await SessionEngine.open({ dir: dir2, fs: counted.fs, fsyncIntervalMs: 60_000 });
  try {
    await engine.save(id, { attributes: { n: '1' }, maxInactiveMs: 60_000 });
    const s0 = counted.syncs();
    const touched = await engine.touch(id);
    assert.equal(counted.syncs(), s0 + 1, 'its own fdatasync, not the timer\'s');
    assert.equal(engine.hasPending(id), false);
    assert.equal(engine.get(id), touched);
  } finally {
    await engine.close();
    removeDir(dir2);
  }
});

test('once the engine is open, a touch is appended before store.touch returns (no promise first), and a failing touch still reports through touch()', HANG_GUARD, async () => {
  const dir = tempDir('touch-now');
  const store = new SessiondStore({ dir });
  const id = 'touchnow' + 'A'.repeat(20);
  const cookie = { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) };
  try {
    await cbPromise((cb) => store.set(id, { cookie, n: 1 } as unknown as session.SessionData, cb));
    const engine = await store.engine();
    const before = engine.get(id)!.lsn;
    const later = new Date(Date.now() + 3_600_000);
    let answered = false;
    const done = cbPromise((cb) => store.touch(id, { cookie: { ...cookie, expires: later } } as unknown as session.SessionData, cb)).then(() => (answered = true));
    assert.ok(engine.get(id)!.lsn > before, 'the TOUCH record is appended in the call');
    assert.equal(engine.get(id)!.expiresAtMs, later.getTime());
    assert.equal(answered, false, 'the callback runs on a later tick');
    await done;
    // A cookie expiry before 1970 is refused: reported through the callback, as before, and nothing is appended.
    const lsn = engine.get(id)!.lsn;
    const early = { cookie: { ...cookie, expires: new Date(-5) } } as unknown as session.SessionData;
    await assert.rejects(cbPromise((cb) => store.touch(id, early, cb)), (e: unknown) => isSessiondError(e, 'SESSIOND_INVALID_ARGUMENT'));
    assert.equal(engine.get(id)!.lsn, lsn);
  } finally {
    await store.close();
    removeDir(dir);
  }
});
