// Unit tests of the open scan's reader (src/db/chunk-reader.ts): its buffer is a chunk, or
// the file's size when that is smaller, and any range of the file loads right wherever it
// falls: inside the loaded bytes, straddling their end (the chunk's or the file's), or
// ending exactly at the file's end. The simulated file system refuses a read into a buffer
// too small for it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkReader } from '../../src/db/chunk-reader.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { Prng } from '../../src/util/prng.js';

const PATH = '/chunks/sessions.db';

async function readerOver(bytes: Uint8Array, chunkBytes: number): Promise<ChunkReader> {
  const fs = new SimFileSystem(1);
  fs.writeFileSync(PATH, bytes);
  const handle = await fs.open(PATH, 'r');
  return new ChunkReader(handle, await handle.size(), chunkBytes);
}

/** Loads [pos, pos + len) and checks the bytes the reader's buffer then holds there. */
async function loadsRight(reader: ChunkReader, file: Uint8Array, pos: number, len: number): Promise<void> {
  const i = await reader.load(pos, len);
  assert.deepEqual(reader.buffer.subarray(i, i + len), Buffer.from(file.subarray(pos, pos + len)), `[${pos}, ${pos + len})`);
  assert.equal(reader.indexOf(pos, len), i, `[${pos}, ${pos + len}) stays loaded`);
}

test('the buffer is a chunk, or the whole file when the file is smaller (no 4 MiB zero-fill per small open)', async () => {
  for (const [fileBytes, chunkBytes, expected] of [
    [3000, 4 * 1024 * 1024, 3000],
    [1024, 1024, 1024],
    [5000, 1024, 1024],
    [0, 4096, 0],
  ] as const) {
    const r = await readerOver(new Uint8Array(fileBytes), chunkBytes);
    assert.equal(r.buffer.byteLength, expected, `file ${fileBytes}, chunk ${chunkBytes}`);
  }
});

test('a file smaller than a chunk: a range ending at the end of the file loads, from any window', async () => {
  const file = new Prng(7).bytes(3001); // not a block multiple: the last range is odd-sized
  const r = await readerOver(file, 4096);
  assert.equal(await r.fill(0), 3001, 'the whole file in one read');
  await loadsRight(r, file, 2901, 100); // ends at the file's end, already loaded
  // The window starts mid-file; a range past it refills there and ends at the file's end.
  assert.equal(await r.fill(2000), 1001);
  await loadsRight(r, file, 1500, 1501);
  await loadsRight(r, file, 0, 3001);
  await loadsRight(r, file, 3000, 1); // loaded already: no read
  assert.equal(r.bytesRead, 3001 + 1001 + 1501 + 3001);
});

test('ranges straddling the end of the loaded chunk load whole, at every offset of a file bigger than a chunk', async () => {
  const prng = new Prng(11);
  const file = prng.bytes(10 * 1024 + 77);
  const r = await readerOver(file, 1024);
  for (let k = 0; k < 400; k++) {
    const len = 1 + prng.int(1024);
    const pos = prng.int(file.byteLength - len + 1);
    await loadsRight(r, file, pos, len);
  }
  // A range ending exactly at the file's end, in a final chunk shorter than the others.
  await loadsRight(r, file, file.byteLength - 1024, 1024);
  await loadsRight(r, file, file.byteLength - 77, 77);
});
