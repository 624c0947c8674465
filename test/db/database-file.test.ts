// Unit tests of DatabaseFile on the simulated and the real file system: create, round
// trip, copy on write, deletes, free-list reuse, serialization, closed and option errors.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DatabaseFile } from '../../src/db/database-file.js';
import { decodeDbHeader } from '../../src/db/db-header.js';
import { isFreedMarker } from '../../src/db/image-codec.js';
import { AssertionError } from '../../src/assert.js';
import { isSessiondError } from '../../src/errors.js';
import { DB_BLOCK_BYTES, DB_FILE_NAME, DB_FIRST_DATA_OFFSET, DB_OFFSET_NONE } from '../../src/format/constants.js';
import { nodeFileSystem } from '../../src/fs/node-file-system.js';
import { batch, bodyText, DB_PATH, DIR, newSim, openCollect, payload, saltOf, sameBytes, sizedPayload, withTmpDir, sid } from './db-test-helpers.js';

test('create: a missing file is created with two valid header slots, made durable', async () => {
  const fs = await newSim();
  const { db, images } = await openCollect(fs);
  assert.equal(images.size, 0);
  assert.equal(db.appliedLsn, 0);
  assert.equal(db.maxImageLsn, 0);
  assert.deepEqual(fs.listSync(DIR), [DB_FILE_NAME], 'no temporary file left');
  const durable = fs.durableFileSync(DB_PATH);
  assert.ok(durable, 'the name and the contents are durable');
  assert.equal(durable.byteLength, DB_FIRST_DATA_OFFSET);
  const slots = [0, 1].map((k) => decodeDbHeader(durable.subarray(k * 512, k * 512 + 512)));
  assert.ok(slots.every((s) => s.kind === 'valid'));
  assert.ok(fs.opCounts.syncDir >= 1);
  await db.close();
  const again = await openCollect(fs);
  assert.equal(again.images.size, 0);
  assert.equal(again.db.scanReport.images, 0);
  assert.equal(saltOf(fs.readFileSync(DB_PATH)), saltOf(durable), 'reopen keeps the salt');
  await again.db.close();
});

test('round trip on the real file system: small, multi-block and bigger-than-a-chunk images', async () => {
  await withTmpDir(async (dir) => {
    const { db } = await openCollect(nodeFileSystem, { dir });
    const data = {
      a: payload('a', 'hello'),
      bb: sizedPayload('bb', 3000, 0x62),
      big: sizedPayload('big', 10_000, 0x63),
    };
    await db.writeBatch(batch([['a', 1, data.a], ['bb', 2, data.bb], ['big', 3, data.big]], [], 3));
    db.checkInvariants();
    const offsets = Object.keys(data).map((id) => db.offsetOf(sid(id)));
    await db.close();
    for (const readChunkBytes of [1024, 4096, undefined]) {
      const { db: db2, images } = await openCollect(nodeFileSystem, { dir, readChunkBytes });
      assert.equal(db2.appliedLsn, 3);
      assert.equal(db2.maxImageLsn, 3);
      assert.deepEqual([...images.keys()].sort(), ['a', 'bb', 'big']);
      for (const [id, bytes] of Object.entries(data)) assert.ok(sameBytes(images.get(id)!.data, bytes), id);
      assert.deepEqual(Object.keys(data).map((id) => db2.offsetOf(sid(id))), offsets);
      assert.equal(images.get('bb')!.lsn, 2);
      await db2.close();
    }
  });
});

test('update is copy on write: new extent, old one marked freed after, then reused', async () => {
  const fs = await newSim();
  const { db } = await openCollect(fs);
  await db.writeBatch(batch([['x', 1, payload('x', 'v1')]], [], 1));
  const first = db.offsetOf(sid('x'));
  await db.writeBatch(batch([['x', 2, payload('x', 'v2')]], [], 2));
  const second = db.offsetOf(sid('x'));
  assert.notEqual(second, first);
  const file = fs.durableFileSync(DB_PATH)!;
  assert.ok(isFreedMarker(file, first, saltOf(file)), 'old image carries a durable freed marker');
  assert.equal(db.stats().freeExtents, 1);
  // The freed block is reused by the next image that fits.
  await db.writeBatch(batch([['y', 3, payload('y')]], [], 3));
  assert.equal(db.offsetOf(sid('y')), first);
  db.checkInvariants();
  await db.close();
  const { db: db2, images } = await openCollect(fs);
  assert.equal(bodyText(images.get('x')!.data), 'v2');
  assert.equal(images.get('x')!.lsn, 2);
  await db2.close();
});

test('delete frees the session for good; unknown ids are ignored; appliedLsn persists', async () => {
  const fs = await newSim();
  const { db } = await openCollect(fs);
  await db.writeBatch(batch([['x', 1, payload('x')], ['y', 2, payload('y')]], [], 2));
  await db.writeBatch(batch([], ['x', 'nobody', 'x'], 5));
  assert.equal(db.has(sid('x')), false);
  assert.equal(db.offsetOf(sid('x')), DB_OFFSET_NONE);
  assert.equal(db.appliedLsn, 5);
  db.checkInvariants();
  await db.close();
  const { db: db2, images } = await openCollect(fs);
  assert.deepEqual([...images.keys()], ['y']);
  assert.equal(db2.appliedLsn, 5);
  assert.equal(db2.maxImageLsn, 2);
  await db2.close();
});

test('free list: holes coalesce, get reused first fit, and a free tail shrinks freeOffset', async () => {
  const fs = await newSim();
  const { db } = await openCollect(fs);
  const one = (id: string): Uint8Array => sizedPayload(id, 100);
  await db.writeBatch(batch([['a', 1, one('a')], ['b', 1, one('b')], ['c', 1, one('c')], ['d', 1, one('d')]], [], 1));
  const [a, b, , d] = ['a', 'b', 'c', 'd'].map((id) => db.offsetOf(sid(id)));
  assert.equal(a, DB_FIRST_DATA_OFFSET);
  assert.equal(db.stats().freeOffset, d! + DB_BLOCK_BYTES);
  await db.writeBatch(batch([], ['b', 'c'], 2));
  let s = db.stats();
  assert.equal(s.freeExtents, 1, 'b and c coalesced');
  assert.equal(s.freeBytes, 2 * DB_BLOCK_BYTES);
  assert.ok(Math.abs(s.fragmentation - 2 / 4) < 1e-9);
  await db.writeBatch(batch([['e', 3, sizedPayload('e', 900)]], [], 3));
  assert.equal(db.offsetOf(sid('e')), b, 'a 2-block image fits the coalesced hole');
  await db.writeBatch(batch([], ['d'], 4));
  s = db.stats();
  assert.equal(s.freeOffset, d, 'the free tail left the used area');
  assert.equal(s.freeBytes, 0);
  assert.equal(s.tailFreeBytes, DB_BLOCK_BYTES);
  assert.equal(s.liveImages, 2);
  db.checkInvariants();
  await db.close();
});

test('batches are serialized: a second call waits for the first', async () => {
  const fs = await newSim();
  const { db } = await openCollect(fs);
  const p1 = db.writeBatch(batch([['a', 1, payload('a', '1')]], [], 1));
  const p2 = db.writeBatch(batch([['a', 2, payload('a', '2')]], [], 2));
  const p3 = db.writeBatch(batch([], ['a'], 3));
  await Promise.all([p1, p2, p3]);
  assert.equal(db.has(sid('a')), false);
  assert.equal(db.appliedLsn, 3);
  db.checkInvariants();
  await db.close();
});

test('a malformed batch is an assertion failure before any I/O and does not poison the file', async () => {
  const fs = await newSim();
  const { db } = await openCollect(fs);
  await assert.rejects(db.writeBatch(batch([['a', 1, payload('b')]], [], 1)), AssertionError);
  // An image newer than the batch's appliedLsn is fine (the session changed after the
  // flusher's snapshot); an image older than the session's current one is not.
  await db.writeBatch(batch([['a', 5, payload('a')]], [], 1));
  await assert.rejects(db.writeBatch(batch([['a', 4, payload('a')]], [], 1)), AssertionError);
  await assert.rejects(db.writeBatch(batch([], [], 0)), AssertionError, 'appliedLsn never goes back');
  await db.close();
});

test('closed: writes reject with SESSIOND_CLOSED; bad readChunkBytes is SESSIOND_INVALID_OPTION', async () => {
  const fs = await newSim();
  const { db } = await openCollect(fs);
  await db.close();
  await db.close();
  await assert.rejects(db.writeBatch(batch([], [], 1)), (e) => isSessiondError(e, 'SESSIOND_CLOSED'));
  await assert.rejects(DatabaseFile.open({ fs, dir: DIR, readChunkBytes: 1000 }, () => {}), (e) =>
    isSessiondError(e, 'SESSIOND_INVALID_OPTION'),
  );
});
