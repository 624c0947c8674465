/**
 * The open presizes what it builds from the scan (kind: unit, on the simulated file layer):
 * the database index, and through `reserve` the engine's cold sessions
 * (test/engine/cold-presize.test.ts), get room for the images the header counts at once, instead of doubling ten times at a million (docs/benchmarks.md "Reopen
 * at 1M"). The count is a hint: a header claiming more than the file can hold is capped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DatabaseFile } from '../../src/db/database-file.js';
import type { DbHeader } from '../../src/db/db-header.js';
import { imagesExpected, PRESIZE_IMAGES_MAX } from '../../src/db/db-open.js';
import type { SessionIndex } from '../../src/db/session-index.js';
import { DB_BLOCK_BYTES, DB_FIRST_DATA_OFFSET } from '../../src/format/constants.js';
import { batch, DIR, newSim, payload } from './db-test-helpers.js';

/** More than the 1,024 slots an index starts with, and not a power of two (doubling would overshoot it). */
const IMAGES = 3000;

function header(liveImages: number): DbHeader {
  return { headerSeq: 1, salt: 7, freeOffset: DB_FIRST_DATA_OFFSET, appliedLsn: 1, createdAtMs: 0, liveImages, freeingImages: 0 };
}

test('imagesExpected: the header count, capped by the blocks of the file and by PRESIZE_IMAGES_MAX', () => {
  const fileBytes = DB_FIRST_DATA_OFFSET + 5000 * DB_BLOCK_BYTES;
  assert.equal(imagesExpected(header(IMAGES), fileBytes), IMAGES);
  assert.equal(imagesExpected(header(2 ** 40), fileBytes), 5000, 'a damaged count allocates no more than one slot a block');
  assert.equal(imagesExpected(header(2 ** 40), 2 ** 50), PRESIZE_IMAGES_MAX);
  assert.equal(imagesExpected(header(IMAGES), 0), 0, 'an empty file expects nothing');
});

test('the open tells the caller how many images to expect and sizes its index for exactly that many', async () => {
  const fs = await newSim();
  let db = await DatabaseFile.open({ fs, dir: DIR }, () => undefined);
  const puts: Array<[string, number, Uint8Array]> = [];
  for (let i = 0; i < IMAGES; i++) puts.push([`s${i}`, i + 1, payload(`s${i}`, 'body')]);
  await db.writeBatch(batch(puts, [], IMAGES));
  await db.close();
  const reserved: number[] = [];
  let handed = 0;
  db = await DatabaseFile.open({ fs, dir: DIR, reserve: (n) => reserved.push(n) }, () => handed++);
  assert.deepEqual(reserved, [IMAGES], 'called once, before the scan, with the header count');
  assert.equal(handed, IMAGES);
  const index = (db as unknown as { st: { index: SessionIndex } }).st.index;
  assert.equal(index.capacity, IMAGES, 'no doubling past the count (4,096 without the hint)');
  assert.equal(index.size, IMAGES);
  await db.close();
});
