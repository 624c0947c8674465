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
import type { FileHandle, FileSystem, OpenMode } from '../../src/fs/file-system.js';
import { removeDir, tempDir, HANG_GUARD } from './adapter-fixtures.js';

/** The real file system, with every fdatasync held while `held` is set. */
function heldSyncFs(): { fs: FileSystem; hold(): void; letGo(): void; waiting(): number } {
  let gate: Promise<void> | undefined;
  let release: (() => void) | undefined;
  let waiting = 0;
  const fs: FileSystem = {
    async open(path: string, mode: OpenMode): Promise<FileHandle> {
      const fh = await nodeFileSystem.open(path, mode);
      const datasync = fh.datasync.bind(fh);
      fh.datasync = async () => {
        if (gate !== undefined) {
          waiting++;
          await gate;
          waiting--;
        }
        return datasync();
      };
      return fh;
    },
    stat: (p) => nodeFileSystem.stat(p),
    readdir: (p) => nodeFileSystem.readdir(p),
    mkdir: (p) => nodeFileSystem.mkdir(p),
    rename: (a, b) => nodeFileSystem.rename(a, b),
    unlink: (p) => nodeFileSystem.unlink(p),
    syncDir: (p) => nodeFileSystem.syncDir(p),
  };
  return {
    fs,
    hold: () => (gate = new Promise((r) => (release = r))),
    letGo: () => {
      release?.();
      gate = undefined;
    },
    waiting: () => waiting,
  };
}

function cbPromise(f: (cb: (err?: unknown) => void) => void): Promise<void> {
  return new Promise((ok, ko) => f((e) => (e ? ko(e) : ok())));
}

test('touch is answered while the fdatasync is still pending, and the new expiry is durable after it', HANG_GUARD, async () => {
  const dir = tempDir('touch');
  const held = heldSyncFs();
  const store = new SessiondStore({ dir, fs: held.fs });
  const id = 'touchtest' + 'A'.repeat(20);
  const cookie = { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) };
  try {
    await cbPromise((cb) => store.set(id, { cookie, n: 1 } as unknown as session.SessionData, cb));
    held.hold();
    const later = new Date(Date.now() + 3_600_000);
    await cbPromise((cb) => store.touch(id, { cookie: { ...cookie, expires: later } } as unknown as session.SessionData, cb));
    // Answered although its fdatasync has not run yet.
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(held.waiting() > 0, 'the TOUCH record waits for its fdatasync');
    held.letGo();
    await store.close();
    const engine = await SessionEngine.open({ dir });
    assert.equal(engine.get(id)!.expiresAtMs, later.getTime());
    await engine.close();
  } finally {
    held.letGo();
    removeDir(dir);
  }
});
