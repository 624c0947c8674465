// The flush's writes (db-state.ts writeEncoded): images and freed markers are encoded in
// place into write buffers of ENCODED_WRITE_BYTES_MAX bytes, one iovec per run of extents
// that touch, and a buffer is reused within a batch once its write has returned. Every
// extent must still be written whole: its image (or marker) and zeros to its end, never a
// stale byte of an earlier run; and no buffer may change while its write is in flight.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DbState, ENCODED_WRITE_BYTES_MAX, WRITES_IN_FLIGHT_MAX } from '../../src/db/db-state.js';
import type { DbHeader } from '../../src/db/db-header.js';
import { ExtentAllocator } from '../../src/db/extent-allocator.js';
import { isFreedMarker, readImageHead } from '../../src/db/image-codec.js';
import { SessionIndex } from '../../src/db/session-index.js';
import { DB_BLOCK_BYTES, IMAGE_HEAD_BYTES } from '../../src/format/constants.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { wrapFileSystem } from '../support/wrap-file-system.js';
import { batch, DB_PATH, newSim, openCollect, saltOf, sameBytes, sid, sizedPayload } from './db-test-helpers.js';

/** The database file's writevs reach the simulator a turn later (in flight, as a real pwritev is), each counted with its iovecs. */
function delayingFs(inner: FileSystem): { fs: FileSystem; iovecs: number[] } {
  const iovecs: number[] = [];
  const fs = wrapFileSystem(inner, (path, h) => ({
    writev: async (b, p) => {
      if (path !== DB_PATH) return h.writev(b, p);
      iovecs.push(b.length);
      await new Promise((r) => setImmediate(r));
      return h.writev(b, p);
    },
  }));
  return { fs, iovecs };
}

const SESSIONS = 3000;
const names = Array.from({ length: SESSIONS }, (_, i) => `s${i}`);
/** 560-959 bytes: two blocks each, with the padding of one image where another run's bytes were. */
const sizeOf = (i: number, round: number): number => 560 + ((i * 37 + round * 101) % 400);
const dataOf = (i: number, round: number): Uint8Array => sizedPayload(names[i]!, sizeOf(i, round), 0x41 + ((i + round) % 50));

/** Every extent of `offsets` holds its image, then zeros to the extent's end. */
function assertImagesWhole(file: Uint8Array, offsets: number[], round: number): void {
  for (const [i, at] of offsets.entries()) {
    const head = readImageHead(file, at);
    assert.ok(head !== undefined, `an image at ${at}`);
    assert.ok(sameBytes(file.subarray(at + IMAGE_HEAD_BYTES, at + IMAGE_HEAD_BYTES + head.dataBytes), dataOf(i, round)), `the data of ${names[i]}`);
    const pad = file.subarray(at + IMAGE_HEAD_BYTES + head.dataBytes + 4, at + head.extentBlocks * DB_BLOCK_BYTES);
    assert.ok(pad.every((b) => b === 0), `the extent of ${names[i]} at ${at} is zeros past its image`);
  }
}

test(`a batch of more runs than ${WRITES_IN_FLIGHT_MAX} writes in flight: one iovec a run, extents whole and zero-padded, images and markers as written`, async () => {
  const sim = await newSim();
  const c = delayingFs(sim);
  const { db } = await openCollect(c.fs);
  const ids = names.map(sid);
  await db.writeBatch(batch(names.map((n, i) => [n, i + 1, dataOf(i, 0)]), [], SESSIONS));
  const runs = c.iovecs.length - 2; // less the two header writes
  assert.ok(runs > WRITES_IN_FLIGHT_MAX, `${runs} image writes: buffers were reused`);
  assert.ok(runs <= Math.ceil((SESSIONS * 2 * DB_BLOCK_BYTES) / ENCODED_WRITE_BYTES_MAX) + 1, `${runs} image writes for ${SESSIONS} extents side by side`);
  assert.ok(c.iovecs.every((n) => n === 1), 'one iovec per write');
  assert.deepEqual(await db.readBack(ids), [], 'every image reads back as written');
  const first = ids.map((id) => db.offsetOf(id));
  assertImagesWhole(sim.durableFileSync(DB_PATH)!, first, 0);

  // Every session again: new images, a freed marker over each old extent (zeroed whole).
  await db.writeBatch(batch(names.map((n, i) => [n, SESSIONS + i + 1, dataOf(i, 1)]), [], 2 * SESSIONS));
  assert.deepEqual(await db.readBack(ids), []);
  const file = sim.durableFileSync(DB_PATH)!;
  assertImagesWhole(file, ids.map((id) => db.offsetOf(id)), 1);
  const salt = saltOf(file);
  for (const at of first) {
    assert.ok(isFreedMarker(file, at, salt), `a freed marker at ${at}`);
    assert.ok(file.subarray(at + IMAGE_HEAD_BYTES + 4, at + 2 * DB_BLOCK_BYTES).every((b) => b === 0), `the freed extent at ${at} is zeros past its marker`);
  }
  db.checkInvariants();
  await db.close();
  const r = await openCollect(sim);
  assert.equal(r.images.size, SESSIONS);
  for (const [i, n] of names.entries()) assert.ok(r.images.get(n)!.lsn === SESSIONS + i + 1 && sameBytes(r.images.get(n)!.data, dataOf(i, 1)), n);
  assert.equal(r.db.scanReport.garbageBlocks, 0);
  await r.db.close();
});

test('readInto a reused buffer: bytes past the end of the file read as zeros', async () => {
  const sim = await newSim();
  const h = await sim.open(DB_PATH, 'create');
  await h.writev([new Uint8Array(100).fill(7)], 0);
  const st = new DbState(DB_PATH, h, {} as DbHeader, 0, new SessionIndex(), new ExtentAllocator(), 100);
  const buf = new Uint8Array(300).fill(0xff);
  await st.readInto(buf, 50, 200);
  assert.ok(buf.subarray(0, 50).every((b) => b === 7), 'the file');
  assert.ok(buf.subarray(50, 200).every((b) => b === 0), 'past its end: zeros');
  assert.ok(buf.subarray(200).every((b) => b === 0xff), 'past the length asked: untouched');
  await h.close();
});
