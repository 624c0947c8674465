// The database file's writes per batch (docs/benchmarks.md, "The flusher's writes"): freed
// markers of extents that touch share a writev and zero those extents, and the writes of a
// step run several at a time (a thread-pool round trip each), never more than the bound.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MARKER_ZERO_FILL_BLOCKS_MAX, WRITES_IN_FLIGHT_MAX } from '../../src/db/db-state.js';
import { isFreedMarker } from '../../src/db/image-codec.js';
import { DB_BLOCK_BYTES, IMAGE_HEAD_BYTES } from '../../src/format/constants.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { wrapFileSystem } from '../support/wrap-file-system.js';
import { batch, DB_PATH, newSim, openCollect, saltOf, sizedPayload, sid } from './db-test-helpers.js';

/** Counts the writevs of the database file and the most of them in flight at once. */
function countingFs(inner: FileSystem): { fs: FileSystem; writevs: () => number; maxInFlight: () => number; reset: () => void } {
  let writevs = 0;
  let inFlight = 0;
  let max = 0;
  const fs = wrapFileSystem(inner, (path, h) => ({
    writev: async (b, p) => {
      if (path !== DB_PATH) return h.writev(b, p);
      writevs++;
      max = Math.max(max, ++inFlight);
      try {
        await new Promise((r) => setImmediate(r)); // in flight across a turn, as a real pwritev is
        await h.writev(b, p);
      } finally {
        inFlight--;
      }
    },
  }));
  return { fs, writevs: () => writevs, maxInFlight: () => max, reset: () => void ((writevs = 0), (max = 0)) };
}

type Put = [string, number, Uint8Array];

const names = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

test('markers of extents that touch share one writev and zero their extents; a big extent keeps its body', async () => {
  const sim = await newSim();
  const c = countingFs(sim);
  const { db } = await openCollect(c.fs);
  const small = names(60, 's'); // 1,200 bytes: 3 blocks each, allocated side by side
  const bigBlocks = MARKER_ZERO_FILL_BLOCKS_MAX + 2;
  await db.writeBatch(batch([...small.map((n, i) => [n, i + 1, sizedPayload(n, 1200, 0x61)] as Put), ['big', 100, sizedPayload('big', bigBlocks * DB_BLOCK_BYTES - 100, 0x62)]], [], 100));
  const before = small.map((n) => db.offsetOf(sid(n)));
  const bigAt = db.offsetOf(sid('big'));
  c.reset();
  await db.writeBatch(batch([...small.map((n, i) => [n, 200 + i, sizedPayload(n, 1200, 0x63)] as Put), ['big', 300, sizedPayload('big', bigBlocks * DB_BLOCK_BYTES - 100, 0x64)]], [], 300));
  // Images: one writev; markers: one for the 60 small extents, one for the big one; two header writes.
  assert.ok(c.writevs() <= 5, `${c.writevs()} writevs for a batch of 61 sessions`);
  const file = sim.durableFileSync(DB_PATH)!;
  const salt = saltOf(file);
  for (const at of before) {
    assert.ok(isFreedMarker(file, at, salt), `a durable freed marker at ${at}`);
    const rest = file.subarray(at + IMAGE_HEAD_BYTES + 4, at + 3 * DB_BLOCK_BYTES);
    assert.ok(rest.every((b) => b === 0), `the freed extent at ${at} is zero past its marker`);
  }
  assert.ok(isFreedMarker(file, bigAt, salt));
  assert.ok(file.subarray(bigAt + IMAGE_HEAD_BYTES + 4, bigAt + DB_BLOCK_BYTES).every((b) => b === 0), 'the marker block is zeros past its head');
  assert.ok(file.subarray(bigAt + DB_BLOCK_BYTES, bigAt + 2 * DB_BLOCK_BYTES).every((b) => b === 0x62), 'a big extent keeps its old body past the marker block');
  db.checkInvariants();
  await db.close();
  const r = await openCollect(sim);
  assert.equal(r.images.size, 61);
  for (const [i, n] of small.entries()) assert.equal(r.images.get(n)!.lsn, 200 + i);
  assert.equal(r.db.scanReport.garbageBlocks, 0, 'zeroed extents are free space without any head');
  await r.db.close();
});

test(`writes of a step run up to ${WRITES_IN_FLIGHT_MAX} at once: scattered markers, then the file reopens whole`, async () => {
  const sim = await newSim();
  const c = countingFs(sim);
  const { db } = await openCollect(c.fs);
  // Sessions interleaved with ones that stay: the replaced extents never touch.
  const moving = names(80, 'm');
  const staying = names(80, 'k');
  const puts = moving.flatMap((m, i): Put[] => [[m, 2 * i + 1, sizedPayload(m, 600)], [staying[i]!, 2 * i + 2, sizedPayload(staying[i]!, 600)]]);
  await db.writeBatch(batch(puts, [], 160));
  c.reset();
  await db.writeBatch(batch(moving.map((m, i) => [m, 200 + i, sizedPayload(m, 600, 0x70)] as Put), [], 300));
  assert.ok(c.writevs() >= 80, 'one marker writev per scattered extent');
  assert.equal(c.maxInFlight(), WRITES_IN_FLIGHT_MAX, 'as many in flight as allowed, no more');
  db.checkInvariants();
  await db.close();
  const r = await openCollect(sim);
  assert.equal(r.images.size, 160);
  for (const [i, m] of moving.entries()) assert.equal(r.images.get(m)!.lsn, 200 + i);
  await r.db.close();
});
