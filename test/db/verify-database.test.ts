// verifyDatabaseFile: a clean file is ok; planted corruption is reported with its offset
// and kind; crash leftovers (torn images, duplicates) are counted, not problems; the file
// is never written.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { verifyDatabaseFile } from '../../src/db/database-file.js';
import { writeU32 } from '../../src/format/bytes.js';
import { DB_BLOCK_BYTES, DB_HEADER } from '../../src/format/constants.js';
import type { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { batch, concat, DB_PATH, newSim, openCollect, patchFile, payload, rawImage, saltOf, sameBytes, sizedPayload } from './db-test-helpers.js';

async function sample(): Promise<{ fs: SimFileSystem; end: number; salt: number }> {
  const fs = await newSim();
  const { db } = await openCollect(fs);
  await db.writeBatch(batch([['a', 1, payload('a')], ['b', 2, sizedPayload('b', 1500)]], [], 2));
  await db.writeBatch(batch([['c', 3, payload('c')]], [], 3));
  await db.close();
  const file = fs.readFileSync(DB_PATH);
  return { fs, end: file.byteLength, salt: saltOf(file) };
}

/** Verifies and checks the file was not touched. */
async function verify(fs: SimFileSystem): Promise<Awaited<ReturnType<typeof verifyDatabaseFile>>> {
  const before = fs.readFileSync(DB_PATH);
  const report = await verifyDatabaseFile(fs, DB_PATH);
  assert.ok(sameBytes(fs.readFileSync(DB_PATH), before), 'verify is read only');
  return report;
}

test('verify: a clean file is ok, with its header and image count', async () => {
  const { fs, end } = await sample();
  const r = await verify(fs);
  assert.equal(r.ok, true);
  assert.deepEqual(r.problems, []);
  assert.equal(r.images, 3);
  assert.equal(r.header?.appliedLsn, 3);
  assert.equal(r.fileBytes, end);
});

test('verify: a missing file is a problem, not an exception', async () => {
  const fs = await newSim();
  const r = await verifyDatabaseFile(fs, DB_PATH);
  assert.equal(r.ok, false);
  assert.equal(r.problems[0]?.kind, 'missing-file');
});

test('verify: a bad header slot is reported at its offset; both bad still counts images via the recovered salt', async () => {
  const { fs } = await sample();
  patchFile(fs, DB_PATH, DB_BLOCK_BYTES + 100, new Uint8Array([1, 2, 3]));
  let r = await verify(fs);
  assert.equal(r.ok, false);
  assert.deepEqual(r.problems.map((p) => [p.offset, p.kind]), [[DB_BLOCK_BYTES, 'header-slot']]);
  assert.match(r.problems[0]!.detail, /bad crc/);
  assert.equal(r.images, 3);
  patchFile(fs, DB_PATH, 0, new Uint8Array(8));
  r = await verify(fs);
  assert.deepEqual(r.problems.map((p) => p.kind), ['header-slot', 'header-slot', 'no-header']);
  assert.equal(r.header, undefined);
  assert.equal(r.images, 3);
});

test('verify: an image whose crc matches but whose payload id is invalid is reported at its offset', async () => {
  const { fs, end, salt } = await sample();
  patchFile(fs, DB_PATH, end, rawImage(salt, 9, new Uint8Array([2, 0x61, 0x00, 7])));
  const r = await verify(fs);
  assert.equal(r.ok, false);
  assert.deepEqual(r.problems.map((p) => [p.offset, p.kind]), [[end, 'image-payload']]);
  assert.equal(r.images, 3);
});

test('verify: a header from another format version is reported as unsupported', async () => {
  const { fs } = await sample();
  const slot = fs.readFileSync(DB_PATH).slice(0, DB_BLOCK_BYTES);
  writeU32(slot, DB_HEADER.formatVersion, 9);
  writeU32(slot, DB_HEADER.crc, crc32(slot.subarray(0, DB_HEADER.crc), 0));
  patchFile(fs, DB_PATH, 0, slot);
  const r = await verify(fs);
  assert.ok(r.problems.some((p) => p.kind === 'unsupported-format' && p.offset === 0));
});

test('verify: torn images and duplicate copies are crash leftovers, counted but ok', async () => {
  const { fs, end, salt } = await sample();
  const torn = rawImage(salt, 4, sizedPayload('d', 900));
  torn.fill(0, 600);
  patchFile(fs, DB_PATH, end, concat([rawImage(salt, 1, payload('a', 'older')), torn]));
  const r = await verify(fs);
  assert.equal(r.ok, true, JSON.stringify(r.problems));
  assert.equal(r.duplicates, 1);
  assert.equal(r.garbageBlocks, 1);
  assert.equal(r.images, 3);
});
