// touch (kind: unit, real files): express-session touches the session on every request that
// did not change it. The store answers once the TOUCH record is appended, without waiting
// for the fdatasync, so reads never wait for the disk; the record is still durable with the
// next group commit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type session from 'express-session';
import { SessiondStore } from '../../src/adapters/express.js';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { nodeFileSystem } from '../../src/fs/node-file-system.js';
import { Gate, wrapFileSystem } from '../support/wrap-file-system.js';
import { removeDir, tempDir, HANG_GUARD } from './adapter-fixtures.js';

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
    // Answered although its fdatasync has not run yet: the gate holds every fdatasync, and the
    // group commit that carries the TOUCH record reaches it (on a loaded machine, not within
    // any fixed few milliseconds: 20 ms was too short in CI).
    for (let i = 0; i < 2000 && gate.waiting === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(gate.waiting > 0, 'the TOUCH record waits for its fdatasync');
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
