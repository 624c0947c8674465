// Unit tests of the open scan on planted files: duplicates, torn images, forged images in
// session values, damaged headers and salvage, corrupt payloads.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DatabaseFile } from '../../src/db/database-file.js';
import { MARKER_ZERO_FILL_BLOCKS_MAX } from '../../src/db/db-state.js';
import { isSessiondError } from '../../src/errors.js';
import { DB_BLOCK_BYTES, IMAGE_HEAD_BYTES } from '../../src/format/constants.js';
import { Prng } from '../../src/util/prng.js';
import {
  batch,
  bodyText,
  concat,
  DB_PATH,
  DIR,
  newSim,
  openCollect,
  patchFile,
  payload,
  rawImage,
  saltOf,
  sameBytes,
  sizedPayload,
  sid,
} from './db-test-helpers.js';

test('duplicates: the higher lsn wins wherever it is; equal lsn: the lower offset; losers are marked for good', async () => {
  const fs = await newSim();
  const { db } = await openCollect(fs);
  await db.writeBatch(batch([['x', 5, payload('x', 'five')], ['y', 1, payload('y', 'first')]], [], 5));
  await db.close();
  const file = fs.readFileSync(DB_PATH);
  const salt = saltOf(file);
  const planted = concat([
    rawImage(salt, 3, payload('x', 'three')),
    rawImage(salt, 7, payload('x', 'seven')),
    rawImage(salt, 1, payload('y', 'copy')),
  ]);
  patchFile(fs, DB_PATH, file.byteLength, planted);

  const r1 = await openCollect(fs);
  assert.equal(bodyText(r1.images.get('x')!.data), 'seven');
  assert.equal(r1.images.get('x')!.lsn, 7);
  assert.equal(bodyText(r1.images.get('y')!.data), 'first');
  assert.equal(r1.db.scanReport.duplicatesFreed, 3);
  assert.equal(r1.db.maxImageLsn, 7);
  await r1.db.close();

  const r2 = await openCollect(fs);
  assert.equal(r2.db.scanReport.duplicatesFreed, 0, 'the first open marked every loser freed');
  await r2.db.writeBatch(batch([], ['x'], 8));
  await r2.db.close();
  const r3 = await openCollect(fs);
  assert.deepEqual([...r3.images.keys()], ['y'], 'no older copy of a deleted session comes back');
  await r3.db.close();
});

test('torn image: a damaged or half-written image is free space, not an error, and gets reused', async () => {
  const fs = await newSim();
  const { db } = await openCollect(fs);
  await db.writeBatch(batch([['x', 1, sizedPayload('x', 1200)]], [], 1));
  await db.close();
  const file = fs.readFileSync(DB_PATH);
  const salt = saltOf(file);
  const torn = rawImage(salt, 2, sizedPayload('y', 1200));
  torn.set(new Prng(1).bytes(DB_BLOCK_BYTES), DB_BLOCK_BYTES); // its middle sector is garbage
  const half = rawImage(salt, 3, payload('z')).subarray(0, 20); // only part of the head landed
  patchFile(fs, DB_PATH, file.byteLength, concat([torn, half]));

  const r = await openCollect(fs);
  assert.deepEqual([...r.images.keys()], ['x']);
  assert.equal(r.db.scanReport.garbageBlocks, 1);
  assert.equal(r.db.stats().freeOffset, file.byteLength, 'the torn blocks are past the used area');
  await r.db.writeBatch(batch([['w', 4, payload('w')]], [], 4));
  assert.equal(r.db.offsetOf(sid('w')), file.byteLength, 'the torn image space is reused');
  await r.db.close();
  const again = await openCollect(fs);
  assert.deepEqual([...again.images.keys()].sort(), ['w', 'x']);
  await again.db.close();
});

test('forged image inside a session value is never taken, even once its extent is freed and reused', async () => {
  const fs = await newSim();
  const { db } = await openCollect(fs);
  const salt = saltOf(fs.readFileSync(DB_PATH));
  const evil = payload('evil', 'owned');
  // Body bytes that put each forgery on a block boundary of the file: data starts 24 bytes
  // into the extent, the body after the str16 id.
  const lead = new Uint8Array(DB_BLOCK_BYTES - IMAGE_HEAD_BYTES - 2 - sid('v').length).fill(0x20);
  const forgeries = [rawImage((salt ^ 0x5a5a5a5a) >>> 0, 999, evil), rawImage(0, 999, evil)];
  // Longer than MARKER_ZERO_FILL_BLOCKS_MAX blocks, so its freed marker leaves the forgeries in place.
  const value = payload('v', concat([lead, ...forgeries, new Uint8Array(300 + MARKER_ZERO_FILL_BLOCKS_MAX * DB_BLOCK_BYTES)]));
  await db.writeBatch(batch([['v', 1, value]], [], 1));
  const vAt = db.offsetOf(sid('v'));
  await db.close();

  let r = await openCollect(fs);
  assert.deepEqual([...r.images.keys()], ['v']);
  assert.ok(sameBytes(r.images.get('v')!.data, value));
  await r.db.writeBatch(batch([], ['v'], 2));
  await r.db.close();

  r = await openCollect(fs);
  assert.equal(r.images.size, 0, 'freed: the forgeries now sit in free space and are still not images');
  assert.equal(r.db.scanReport.garbageBlocks, 2);
  await r.db.writeBatch(batch([['w', 3, payload('w')]], [], 3));
  assert.equal(r.db.offsetOf(sid('w')), vAt, 'a smaller image reuses the first block of the freed extent');
  await r.db.close();

  r = await openCollect(fs);
  assert.deepEqual([...r.images.keys()], ['w']);
  await r.db.close();

  // Control: the same bytes with the file's salt at that spot would be taken.
  patchFile(fs, DB_PATH, vAt + DB_BLOCK_BYTES, rawImage(salt, 999, evil));
  r = await openCollect(fs);
  assert.deepEqual([...r.images.keys()].sort(), ['evil', 'w']);
  await r.db.close();
});

test('header: one damaged slot opens from the other; both damaged is SESSIOND_DB_CORRUPT unless salvage', async () => {
  const fs = await newSim();
  const { db } = await openCollect(fs);
  const data = { a: payload('a', 'A'), b: sizedPayload('b', 2000) };
  await db.writeBatch(batch([['a', 1, data.a], ['b', 2, data.b]], [], 2));
  await db.writeBatch(batch([], [], 3));
  await db.close();
  // Created with slots 0, 1 (seq 0, 1); the batches wrote slot 0 then slot 1, the close slot 0 again.
  patchFile(fs, DB_PATH, 0, new Uint8Array(DB_BLOCK_BYTES));
  let r = await openCollect(fs);
  assert.equal(r.db.appliedLsn, 3, 'a clean close leaves the current header in both slots');
  await r.db.close();

  patchFile(fs, DB_PATH, 0, new Uint8Array(2 * DB_BLOCK_BYTES).fill(7));
  await assert.rejects(DatabaseFile.open({ fs, dir: DIR }, () => {}), (e) => isSessiondError(e, 'SESSIOND_DB_CORRUPT'));
  r = await openCollect(fs, { salvage: true });
  assert.equal(r.db.scanReport.headerRebuilt, true);
  assert.equal(r.db.appliedLsn, 0, 'a rebuilt header replays every log record still present');
  assert.ok(sameBytes(r.images.get('a')!.data, data.a), 'the salt was recovered from the images');
  assert.ok(sameBytes(r.images.get('b')!.data, data.b));
  await r.db.close();
  r = await openCollect(fs);
  assert.equal(r.images.size, 2, 'the rebuilt header is durable in both slots');
  await r.db.close();
});

test('an image with a good crc but an invalid payload id is SESSIOND_DB_CORRUPT; salvage drops it for good', async () => {
  const fs = await newSim();
  const { db } = await openCollect(fs);
  await db.writeBatch(batch([['a', 1, payload('a')]], [], 1));
  await db.close();
  const file = fs.readFileSync(DB_PATH);
  const bad = new Uint8Array([3, 0x61, 0x20, 0x62, 1, 2, 3]); // id "a b"
  patchFile(fs, DB_PATH, file.byteLength, rawImage(saltOf(file), 1, bad));
  await assert.rejects(DatabaseFile.open({ fs, dir: DIR }, () => {}), (e) => {
    assert.ok(isSessiondError(e, 'SESSIOND_DB_CORRUPT'));
    assert.equal(e.context.offset, file.byteLength);
    return true;
  });
  let r = await openCollect(fs, { salvage: true });
  assert.equal(r.db.scanReport.corruptImagesDropped, 1);
  assert.deepEqual([...r.images.keys()], ['a']);
  await r.db.close();
  r = await openCollect(fs);
  assert.deepEqual([...r.images.keys()], ['a']);
  await r.db.close();
});

test('header: every header write leaves both slots current, so after a power loss damage to either slot falls back to an exact count', async () => {
  const fs = await newSim();
  const { db } = await openCollect(fs);
  await db.writeBatch(batch([['a', 1, payload('a')], ['b', 2, payload('b')]], [], 2));
  await db.writeBatch(batch([['c', 3, payload('c')]], [], 3)); // creates a session: the older header counts 2
  const aAt = db.offsetOf(sid('a'));
  const durable = fs.crash(22, { mode: 'drop-all' }); // power loss, no close
  await db.close().catch(() => undefined);
  const file = durable.readFileSync(DB_PATH);
  for (const slot of [0, 1]) {
    const fsK = await newSim();
    fsK.writeFileSync(DB_PATH, file);
    patchFile(fsK, DB_PATH, slot * DB_BLOCK_BYTES, new Uint8Array(DB_BLOCK_BYTES)); // one slot gone
    const r = await openCollect(fsK);
    assert.equal(r.db.appliedLsn, 3, `slot ${slot} damaged: the other holds the last header`);
    await r.db.close();
    // And with an image head gone too, the count of the surviving slot catches the loss.
    fsK.writeFileSync(DB_PATH, file);
    patchFile(fsK, DB_PATH, slot * DB_BLOCK_BYTES, new Uint8Array(DB_BLOCK_BYTES));
    patchFile(fsK, DB_PATH, aAt, new Uint8Array(IMAGE_HEAD_BYTES));
    await assert.rejects(DatabaseFile.open({ fs: fsK, dir: DIR }, () => {}), (e) => isSessiondError(e, 'SESSIOND_DB_CORRUPT'), `slot ${slot} and an image damaged`);
  }
});
