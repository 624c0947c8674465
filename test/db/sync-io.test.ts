// Unit tests of the database file's small I/O on the calling thread (src/db/db-state.ts,
// SYNC_IO_BYTES_MAX; docs/benchmarks.md "Small writes on the event loop's thread"): where
// the file layer has writevSync/readSync, a batch's scattered images and freed markers and
// its read-back go through them instead of a thread-pool trip each; bigger runs still go
// through writev; a failed one is SESSIOND_IO like any write; the file reopens whole.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SYNC_IO_BYTES_MAX } from '../../src/db/db-state.js';
import { isFreedMarker } from '../../src/db/image-codec.js';
import { isSessiondError } from '../../src/errors.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import type { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { join } from 'node:path';
import { nodeFileSystem } from '../../src/fs/node-file-system.js';
import { LoopSlice } from '../../src/util/loop-slice.js';
import { wrapFileSystem } from '../support/wrap-file-system.js';
import { batch, DB_PATH, newSim, openCollect, saltOf, sizedPayload, sid, withTmpDir } from './db-test-helpers.js';

interface Counts {
  writev: number;
  writevSync: number;
  read: number;
  readSync: number;
  /** Bytes of the largest writevSync. */
  syncBytesMax: number;
}

/** The sim's database file handles with their synchronous calls kept (wrapFileSystem drops them), each call counted. */
function countingFs(inner: SimFileSystem): { fs: FileSystem; counts: Counts } {
  const counts: Counts = { writev: 0, writevSync: 0, read: 0, readSync: 0, syncBytesMax: 0 };
  const fs = wrapFileSystem(inner, (path, h) =>
    path !== DB_PATH
      ? {}
      : {
          writev: (b, p) => (counts.writev++, h.writev(b, p)),
          writevSync: (b, p) => {
            counts.writevSync++;
            counts.syncBytesMax = Math.max(counts.syncBytesMax, b.reduce((n, x) => n + x.byteLength, 0));
            h.writevSync!(b, p);
          },
          read: (b, o, l, p) => (counts.read++, h.read(b, o, l, p)),
          readSync: (b, o, l, p) => (counts.readSync++, h.readSync!(b, o, l, p)),
        },
  );
  return { fs, counts };
}

type Put = [string, number, Uint8Array];
const names = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

test('a batch that replaces scattered images: images and freed markers written synchronously, read back synchronously', async () => {
  const sim = await newSim();
  const { fs, counts } = countingFs(sim);
  const { db } = await openCollect(fs);
  // Moving sessions interleaved with staying ones: the replaced extents never touch.
  const moving = names(80, 'm');
  const staying = names(80, 'k');
  await db.writeBatch(batch(moving.flatMap((m, i): Put[] => [[m, 2 * i + 1, sizedPayload(m, 600)], [staying[i]!, 2 * i + 2, sizedPayload(staying[i]!, 600)]]), [], 160));
  await db.writeBatch(batch(moving.map((m, i) => [m, 200 + i, sizedPayload(m, 600, 0x70)] as Put), [], 300));
  Object.assign(counts, { writev: 0, writevSync: 0, read: 0, readSync: 0, syncBytesMax: 0 });
  // Images into the 80 scattered extents the first replacement freed (its markers: one run, 80 KiB).
  await db.writeBatch(batch(moving.map((m, i) => [m, 400 + i, sizedPayload(m, 600, 0x71)] as Put), [], 500));
  assert.ok(counts.writevSync >= 80, `${counts.writevSync} synchronous writes: one per scattered image`);
  // A clock that moves 1 ms per reading: every slice check finds the slice used up, so each read yields.
  let ms = 0;
  const readSlice = new LoopSlice(1, () => ms++);
  assert.deepEqual(await db.readBack!(moving.map(sid), readSlice), []);
  assert.ok(counts.readSync >= 80 && counts.read === 0, `${counts.readSync} synchronous reads, ${counts.read} through the pool`);
  assert.ok(readSlice.yields >= 80, `${readSlice.yields} yields for 80 reads on this thread`);
  const before = moving.map((m) => db.offsetOf(sid(m)));
  // Images into one run again; a freed marker over each of the 80 scattered images.
  const slice = new LoopSlice(1, () => ms++);
  await db.writeBatch(batch(moving.map((m, i) => [m, 600 + i, sizedPayload(m, 600, 0x72)] as Put), [], 700), slice);
  // The checks and the images' encoding yield per session; the markers, written on this thread, per marker too.
  assert.ok(slice.yields >= 3 * 80, `${slice.yields} yields for 80 sessions`);
  assert.ok(counts.writevSync >= 160, `${counts.writevSync} synchronous writes: one per scattered image and marker`);
  assert.ok(counts.writev <= 10, `${counts.writev} writevs: the two long runs and the headers`);
  assert.ok(counts.syncBytesMax <= SYNC_IO_BYTES_MAX);
  db.checkInvariants();
  await db.close();
  const file = sim.durableFileSync(DB_PATH)!;
  const salt = saltOf(file);
  for (const at of before) assert.ok(isFreedMarker(file, at, salt), `a durable freed marker at ${at}`);
  const r = await openCollect(sim);
  assert.equal(r.images.size, 160);
  for (const [i, m] of moving.entries()) assert.equal(r.images.get(m)!.lsn, 600 + i);
  await r.db.close();
});

test(`a run of more than ${SYNC_IO_BYTES_MAX} bytes goes through writev, and is read back through read`, async () => {
  const sim = await newSim();
  const { fs, counts } = countingFs(sim);
  const { db } = await openCollect(fs);
  // 64 images of 600 bytes side by side: one run of 64 KiB.
  const many = names(64, 'a');
  await db.writeBatch(batch(many.map((n, i) => [n, i + 1, sizedPayload(n, 600)] as Put), [], 64));
  assert.ok(counts.writev >= 1 && counts.writevSync === 0, `${counts.writev} writevs, ${counts.writevSync} synchronous`);
  assert.deepEqual(await db.readBack!(many.map(sid)), []);
  assert.ok(counts.read >= 1 && counts.readSync === 0, `${counts.read} reads, ${counts.readSync} synchronous`);
  await db.close();
  const r = await openCollect(sim);
  assert.equal(r.images.size, 64);
  await r.db.close();
});

test('EIO on a synchronous marker write: SESSIOND_IO, later writes refused, the file reopens with the durable images', async () => {
  const sim = await newSim();
  const { fs } = countingFs(sim);
  const { db } = await openCollect(fs);
  const moving = names(20, 'm');
  const staying = names(20, 'k');
  await db.writeBatch(batch(moving.flatMap((m, i): Put[] => [[m, 2 * i + 1, sizedPayload(m, 600)], [staying[i]!, 2 * i + 2, sizedPayload(staying[i]!, 600)]]), [], 40));
  // The images of the next batch go to the end in one run; then 20 scattered markers: fail the 5th write after the images.
  sim.injectFault({ op: 'writev', path: 'sessions.db', nth: 5, code: 'EIO' });
  await assert.rejects(db.writeBatch(batch(moving.map((m, i) => [m, 100 + i, sizedPayload(m, 600, 0x70)] as Put), [], 200)), (e) => isSessiondError(e, 'SESSIOND_IO'));
  await assert.rejects(db.writeBatch(batch([], [], 300)), (e) => isSessiondError(e, 'SESSIOND_IO'));
  await db.close().catch(() => undefined);
  const r = await openCollect(sim);
  for (const n of staying) assert.ok(r.images.has(n), `${n} kept`);
  for (const n of moving) assert.ok(r.images.has(n), `${n} has an image, old or new`);
  await r.db.close();
});

test('node:fs handles: writevSync writes every buffer back to back, readSync stops at the end of the file', async () => {
  await withTmpDir(async (dir) => {
    const h = await nodeFileSystem.open(join(dir, 'f'), 'create');
    try {
      h.writevSync!([new Uint8Array(3).fill(1), new Uint8Array(0), new Uint8Array(5).fill(2)], 10);
      assert.equal(await h.size(), 18);
      const out = new Uint8Array(20).fill(9);
      assert.equal(h.readSync!(out, 2, 12, 8), 10, 'what the file has from byte 8');
      assert.deepEqual([...out.subarray(0, 14)], [9, 9, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 9, 9]);
    } finally {
      await h.close();
    }
  });
});
