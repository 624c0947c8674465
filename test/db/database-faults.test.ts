// Fault injection: EIO or ENOSPC at every op index of a batch and of a compaction. The
// call rejects with SESSIOND_IO, every later write rejects with the same error, the
// in-memory state stays self-consistent, and a reopen finds each session old or new.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DatabaseFile } from '../../src/db/database-file.js';
import { isSessiondError } from '../../src/errors.js';
import type { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { batch, DB_PATH, newSim, openCollect, patchFile, rawImage, saltOf, sameBytes, sizedPayload } from './db-test-helpers.js';

const OLD = { a: sizedPayload('a', 600, 1), b: sizedPayload('b', 100, 2), c: sizedPayload('c', 1500, 3), d: sizedPayload('d', 100, 4) };
const NEW = { a: sizedPayload('a', 200, 5), e: sizedPayload('e', 3000, 6) };

async function setup(): Promise<{ fs: SimFileSystem; db: DatabaseFile }> {
  const fs = await newSim();
  const { db } = await openCollect(fs);
  await db.writeBatch(batch(Object.entries(OLD).map(([id, data], k) => [id, k + 1, data]), [], 4));
  return { fs, db };
}

/** Replaces a, creates e, deletes b and d. */
const BATCH = batch([['a', 6, NEW.a], ['e', 7, NEW.e]], ['b', 'd'], 8);

function checkOldOrNew(images: Map<string, { lsn: number; data: Uint8Array }>, appliedLsn: number, where: string): void {
  const applied = appliedLsn === 8;
  assert.ok(appliedLsn === 4 || applied, `${where}: appliedLsn ${appliedLsn}`);
  const is = (id: string, data: Uint8Array | undefined): boolean => {
    const got = images.get(id);
    return data === undefined ? got === undefined : got !== undefined && sameBytes(got.data, data);
  };
  const either = (id: string, before: Uint8Array | undefined, after: Uint8Array | undefined): void => {
    assert.ok(applied ? is(id, after) : is(id, before) || is(id, after), `${where}: session ${id}`);
  };
  either('a', OLD.a, NEW.a);
  either('b', OLD.b, undefined);
  either('c', OLD.c, OLD.c);
  either('d', OLD.d, undefined);
  either('e', undefined, NEW.e);
}

async function countBatchOps(): Promise<number> {
  const { fs, db } = await setup();
  const before = fs.opCount;
  await db.writeBatch(BATCH);
  return fs.opCount - before;
}

test('EIO/ENOSPC at every op of a batch: SESSIOND_IO, writes refused after, reopen consistent', async () => {
  const ops = await countBatchOps();
  assert.ok(ops >= 6, `a batch has ${ops} ops`);
  for (const code of ['EIO', 'ENOSPC'] as const) {
    for (let nth = 1; nth <= ops; nth++) {
      const where = `${code} at batch op ${nth}`;
      const { fs, db } = await setup();
      fs.injectFault({ nth, code });
      const err = await db.writeBatch(BATCH).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(isSessiondError(err, 'SESSIOND_IO'), `${where}: ${String(err)}`);
      assert.equal(err.context.errno, code, where);
      db.checkInvariants();
      await assert.rejects(db.writeBatch(batch([], [], 9)), (e) => e === err, `${where}: later writes refused`);
      await assert.rejects(db.compact(), (e) => e === err, `${where}: compaction refused`);
      await db.close();
      fs.clearFaults();
      const r = await openCollect(fs);
      checkOldOrNew(r.images, r.db.appliedLsn, where);
      await r.db.close();
    }
  }
});

test('EIO at every op of a compaction: SESSIOND_IO, reopen has every session intact', async () => {
  const prepare = async (): Promise<{ fs: SimFileSystem; db: DatabaseFile }> => {
    const { fs, db } = await setup();
    await db.writeBatch(batch([], ['a', 'b'], 5)); // holes at the front; c and d can move down
    return { fs, db };
  };
  const dry = await prepare();
  const before = dry.fs.opCount;
  const result = await dry.db.compact();
  assert.ok(result.moved > 0 && result.bytesAfter < result.bytesBefore);
  const ops = dry.fs.opCount - before;
  for (let nth = 1; nth <= ops; nth++) {
    const where = `EIO at compaction op ${nth}`;
    const { fs, db } = await prepare();
    fs.injectFault({ nth, code: 'EIO' });
    await assert.rejects(db.compact(), (e) => isSessiondError(e, 'SESSIOND_IO'), where);
    db.checkInvariants();
    await db.close();
    fs.clearFaults();
    const r = await openCollect(fs);
    assert.deepEqual([...r.images.keys()].sort(), ['c', 'd'], where);
    assert.ok(sameBytes(r.images.get('c')!.data, OLD.c) && sameBytes(r.images.get('d')!.data, OLD.d), where);
    await r.db.close();
  }
});

test('EIO at every op of an open with duplicates to free: SESSIOND_IO, and the next open is clean', async () => {
  const prepare = async (): Promise<SimFileSystem> => {
    const { fs, db } = await setup();
    await db.close();
    // A crash leftover: an older copy of a after the used area, freed by the next open.
    const file = fs.readFileSync(DB_PATH);
    patchFile(fs, DB_PATH, file.byteLength, rawImage(saltOf(file), 0, sizedPayload('a', 40)));
    return fs;
  };
  const dry = await prepare();
  const before = dry.opCount;
  (await openCollect(dry)).db.checkInvariants();
  const ops = dry.opCount - before;
  for (let nth = 1; nth <= ops; nth++) {
    const fs = await prepare();
    fs.injectFault({ nth, code: 'EIO' });
    await assert.rejects(openCollect(fs), (e) => isSessiondError(e, 'SESSIOND_IO'), `EIO at open op ${nth}`);
    fs.clearFaults();
    const r = await openCollect(fs);
    checkOldOrNew(r.images, r.db.appliedLsn, `after EIO at open op ${nth}`);
    await r.db.close();
  }
});
