// Fuzz: random bytes, random bytes behind a valid header, and randomly damaged real files
// as sessions.db. Opening (with and without salvage) and verifying either succeed with
// consistent invariants or fail with a SessiondError: never anything else.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DatabaseFile, verifyDatabaseFile } from '../../src/db/database-file.js';
import { encodeDbHeader } from '../../src/db/db-header.js';
import { writeU32 } from '../../src/format/bytes.js';
import { isSessiondError } from '../../src/errors.js';
import { DB_BLOCK_BYTES, IMAGE_LIVE_MAGIC } from '../../src/format/constants.js';
import { batch, concat, DB_PATH, DIR, newSim, payload, sizedPayload } from './db-test-helpers.js';

async function openMustNotCrash(bytes: Uint8Array): Promise<void> {
  for (const salvage of [false, true]) {
    const fs = await newSim();
    fs.writeFileSync(DB_PATH, bytes);
    try {
      const db = await DatabaseFile.open({ fs, dir: DIR, salvage, readChunkBytes: 1024 }, (img) => {
        assert.ok(img.id.length > 0);
      });
      db.checkInvariants();
      // The opened file takes writes and a compaction.
      await db.writeBatch(batch([['fz', db.maxImageLsn + 1, payload('fz')]], [], Math.max(db.appliedLsn, db.maxImageLsn + 1)));
      await db.compact();
      db.checkInvariants();
      await db.close();
    } catch (e) {
      if (!isSessiondError(e)) throw e;
    }
    try {
      await verifyDatabaseFile(fs, DB_PATH, { readChunkBytes: 1024 });
    } catch (e) {
      if (!isSessiondError(e)) throw e;
    }
  }
}

/** Blocks that often start with the live magic and small lengths, to reach the image paths. */
const imageLikeBlock = fc
  .tuple(fc.uint8Array({ minLength: DB_BLOCK_BYTES, maxLength: DB_BLOCK_BYTES }), fc.nat({ max: 8 }), fc.nat({ max: 3000 }))
  .map(([b, blocks, dataBytes]) => {
    const out = b.slice();
    writeU32(out, 0, IMAGE_LIVE_MAGIC);
    writeU32(out, 4, blocks);
    writeU32(out, 8, dataBytes);
    return out;
  });

test('fuzz: random bytes as a database file', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 6000 }), (bytes) => openMustNotCrash(bytes)),
    { numRuns: 150 },
  );
});

test('fuzz: a valid header followed by random and image-like blocks', async () => {
  const header = encodeDbHeader({ headerSeq: 1, salt: 1234, freeOffset: 1024, appliedLsn: 5, createdAtMs: 0, liveImages: 0, freeingImages: 0 });
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.oneof(imageLikeBlock, fc.uint8Array({ minLength: 0, maxLength: DB_BLOCK_BYTES })), { maxLength: 12 }),
      (blocks) => openMustNotCrash(concat([header, header, ...blocks])),
    ),
    { numRuns: 150 },
  );
});

test('fuzz: a real file with random bytes overwritten', async () => {
  const fs = await newSim();
  const db = await DatabaseFile.open({ fs, dir: DIR }, () => {});
  await db.writeBatch(batch([['a', 1, payload('a')], ['b', 2, sizedPayload('b', 2000)], ['c', 3, payload('c')]], [], 3));
  await db.writeBatch(batch([['a', 4, sizedPayload('a', 700)]], ['c'], 5));
  await db.close();
  const original = fs.readFileSync(DB_PATH);
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.nat({ max: original.byteLength - 1 }), fc.uint8Array({ minLength: 1, maxLength: 16 })), { minLength: 1, maxLength: 6 }), async (edits) => {
      const bytes = original.slice();
      for (const [at, patch] of edits) bytes.set(patch.subarray(0, bytes.byteLength - at), at);
      await openMustNotCrash(bytes);
    }),
    { numRuns: 200 },
  );
});
