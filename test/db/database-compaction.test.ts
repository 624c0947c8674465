// Compaction: it shrinks the file and gives the space back (truncate), keeps every image
// byte for byte with its lsn, runs alongside flushes, and survives a crash at every op.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DatabaseFile } from '../../src/db/database-file.js';
import type { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { batch, DB_PATH, newSim, openCollect, sameBytes, sizedPayload } from './db-test-helpers.js';
import type { Img } from './db-test-helpers.js';

const SIZES = [100, 700, 1500, 300, 2500, 100, 900, 4000, 200, 600, 1200, 50, 3000, 450, 800, 100];
const IDS = SIZES.map((_s, k) => `s${k}`);
const KEEP = IDS.filter((_id, k) => k % 3 === 2 || k >= 13);

/** A fragmented file: every session written, then two of every three of the first 13 deleted. */
async function fragmented(fs: SimFileSystem): Promise<DatabaseFile> {
  const { db } = await openCollect(fs);
  await db.writeBatch(batch(IDS.map((id, k) => [id, k + 1, sizedPayload(id, SIZES[k]!, k)]), [], 20));
  await db.writeBatch(batch([], IDS.filter((id) => !KEEP.includes(id)), 21));
  return db;
}

function checkKept(images: Map<string, Img>, where: string): void {
  assert.deepEqual([...images.keys()].sort(), [...KEEP].sort(), where);
  for (const id of KEEP) {
    const k = IDS.indexOf(id);
    const img = images.get(id)!;
    assert.equal(img.lsn, k + 1, `${where}: ${id} keeps its lsn`);
    assert.ok(sameBytes(img.data, sizedPayload(id, SIZES[k]!, k)), `${where}: ${id} bytes`);
  }
}

test('compaction moves images down, truncates the file and keeps every image intact', async () => {
  const fs = await newSim();
  const db = await fragmented(fs);
  const before = db.stats();
  assert.ok(before.fragmentation > 0.3);
  const r = await db.compact();
  db.checkInvariants();
  const after = db.stats();
  assert.ok(r.moved > 0);
  assert.equal(r.bytesBefore, before.fileBytes);
  assert.ok(r.bytesAfter < r.bytesBefore, `${r.bytesAfter} < ${r.bytesBefore}`);
  assert.equal(after.fileBytes, r.bytesAfter);
  assert.equal(after.tailFreeBytes, 0);
  assert.equal(fs.durableFileSync(DB_PATH)!.byteLength, r.bytesAfter, 'the truncation is durable');
  assert.ok(after.fragmentation < before.fragmentation);
  assert.equal(db.appliedLsn, 21);
  await db.close();
  const { db: db2, images } = await openCollect(fs);
  checkKept(images, 'reopen');
  assert.equal(db2.scanReport.duplicatesFreed, 0);
  assert.equal(db2.stats().freeOffset, r.bytesAfter);
  await db2.close();
});

test('compaction of a file without holes changes nothing; with a free tail it only truncates', async () => {
  const fs = await newSim();
  const { db } = await openCollect(fs);
  await db.writeBatch(batch([['a', 1, sizedPayload('a', 100)], ['b', 2, sizedPayload('b', 100)]], [], 2));
  const r = await db.compact();
  assert.deepEqual(r, { bytesBefore: 2048, bytesAfter: 2048, moved: 0 });
  await db.writeBatch(batch([], ['b'], 3));
  const r2 = await db.compact();
  assert.deepEqual(r2, { bytesBefore: 2048, bytesAfter: 1536, moved: 0 });
  db.checkInvariants();
  await db.close();
});

test('compaction runs alongside flushes: both complete and the result is consistent', async () => {
  const fs = await newSim();
  const db = await fragmented(fs);
  const compacting = db.compact();
  const flushes = [
    db.writeBatch(batch([['late', 30, sizedPayload('late', 700)]], [], 30)),
    db.writeBatch(batch([], [KEEP[0]!], 31)),
    db.writeBatch(batch([[KEEP.at(-1)!, 32, sizedPayload(KEEP.at(-1)!, 100)]], [], 32)),
  ];
  await Promise.all([compacting, ...flushes]);
  db.checkInvariants();
  await db.close();
  const { db: db2, images } = await openCollect(fs);
  assert.ok(images.has('late') && !images.has(KEEP[0]!));
  assert.equal(images.get(KEEP.at(-1)!)!.lsn, 32);
  assert.equal(images.size, KEEP.length);
  await db2.close();
});

test('crash at every op of a compaction: every session intact, and compaction finishes after recovery', async () => {
  const dry = await newSim();
  const dryDb = await fragmented(dry);
  const start = dry.opCount;
  const expected = await dryDb.compact();
  const ops = dry.opCount - start;
  for (let n = 1; n <= ops; n++) {
    for (let seed = 0; seed < 3; seed++) {
      const where = `compaction crash at op ${n} seed ${seed}`;
      const fs = await newSim();
      const db = await fragmented(fs);
      fs.crashAtOp(n, n * 7 + seed);
      await assert.rejects(db.compact(), Error, where);
      const survivor = fs.crashed!;
      const r = await openCollect(survivor);
      checkKept(r.images, where);
      assert.equal(r.db.appliedLsn, 21, where);
      const again = await r.db.compact();
      r.db.checkInvariants();
      assert.ok(again.bytesAfter <= expected.bytesAfter, `${where}: ${again.bytesAfter} > ${expected.bytesAfter}`);
      await r.db.close();
      const final = await openCollect(survivor);
      checkKept(final.images, `${where} (after the second compaction)`);
      await final.db.close();
    }
  }
});
