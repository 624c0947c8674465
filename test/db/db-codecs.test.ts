// Unit tests: header slots, image and marker encoding, payload id parsing, salt solving.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { chooseHeader, decodeDbHeader, encodeDbHeader } from '../../src/db/db-header.js';
import type { DbHeader } from '../../src/db/db-header.js';
import {
  crc32Of,
  encodeFreedMarker,
  encodeFreedMarkerInto,
  encodeImage,
  encodeImageInto,
  extentBlocksFor,
  imageCrcMatches,
  isFreedMarker,
  parsePayloadId,
  payloadHasId,
  readImageHead,
} from '../../src/db/image-codec.js';
import { solveSeed } from '../../src/db/salt-recovery.js';
import { writeU32 } from '../../src/format/bytes.js';
import { isSessiondError } from '../../src/errors.js';
import { DB_BLOCK_BYTES, DB_HEADER } from '../../src/format/constants.js';
import { payload, rawImage, sid } from './db-test-helpers.js';

const H: DbHeader = { headerSeq: 7, salt: 0xdeadbeef, freeOffset: 4096, appliedLsn: 2 ** 40 + 3, createdAtMs: 1_700_000_000_000, liveImages: 3, freeingImages: 1 };

test('header: encode then decode gives the same fields', () => {
  const slot = decodeDbHeader(encodeDbHeader(H));
  assert.deepEqual(slot, { kind: 'valid', header: H });
});

test('header: a flipped bit, a bad magic or a short slot is invalid', () => {
  const b = encodeDbHeader(H);
  b[40] = b[40]! ^ 1;
  assert.equal(decodeDbHeader(b).kind, 'invalid');
  const m = encodeDbHeader(H);
  m[0] = 0x58;
  assert.deepEqual(decodeDbHeader(m), { kind: 'invalid', reason: 'bad magic' });
  assert.equal(decodeDbHeader(encodeDbHeader(H).subarray(0, 100)).kind, 'invalid');
});

test('header: another format version with a good crc is unsupported, and refuses the file', () => {
  const b = encodeDbHeader(H);
  writeU32(b, DB_HEADER.formatVersion, 1); // version 1 had str8 ids: it would be misread
  writeU32(b, DB_HEADER.crc, crc32(b.subarray(0, DB_HEADER.crc), 0));
  const slot = decodeDbHeader(b);
  assert.equal(slot.kind, 'unsupported');
  assert.throws(() => chooseHeader([slot, decodeDbHeader(encodeDbHeader(H))], 'f'), (e) =>
    isSessiondError(e, 'SESSIOND_FORMAT_UNSUPPORTED'),
  );
});

test('header: the valid slot with the larger headerSeq wins', () => {
  const a = decodeDbHeader(encodeDbHeader({ ...H, headerSeq: 9 }));
  const b = decodeDbHeader(encodeDbHeader({ ...H, headerSeq: 10 }));
  const bad = decodeDbHeader(new Uint8Array(DB_BLOCK_BYTES));
  assert.equal(chooseHeader([a, b], 'f')?.slot, 1);
  assert.equal(chooseHeader([b, a], 'f')?.slot, 0);
  assert.equal(chooseHeader([a, bad], 'f')?.slot, 0);
  assert.equal(chooseHeader([bad, bad], 'f'), undefined);
});

test('image: round trip through head and crc; another salt does not validate it', () => {
  const data = payload('abc', 'x'.repeat(1000));
  const raw = rawImage(42, 99, data);
  assert.equal(raw.byteLength, extentBlocksFor(data.byteLength) * DB_BLOCK_BYTES);
  const head = readImageHead(raw, 0)!;
  assert.deepEqual(head, { extentBlocks: 3, dataBytes: data.byteLength, lsn: 99, layout: 3 });
  assert.ok(imageCrcMatches(raw, 0, head, 42));
  assert.ok(!imageCrcMatches(raw, 0, head, 43));
  assert.equal(parsePayloadId(raw, 24, head.dataBytes), sid('abc'));
});

test('image: extents are the smallest number of blocks that hold head, data and crc', () => {
  assert.equal(extentBlocksFor(0), 1);
  assert.equal(extentBlocksFor(512 - 28), 1);
  assert.equal(extentBlocksFor(512 - 27), 2);
});

test('freed marker: recognized only with the right salt', () => {
  const m = encodeFreedMarker(5, 12);
  assert.equal(m.byteLength, DB_BLOCK_BYTES);
  assert.ok(isFreedMarker(m, 0, 5));
  assert.ok(!isFreedMarker(m, 0, 6));
  assert.equal(readImageHead(m, 0), undefined);
});

test('freed marker encoded in place: the same block as encodeFreedMarker, at any offset of a zeroed buffer', () => {
  for (const blocks of [1, 2, 12, 0xffff_ffff]) {
    const out = new Uint8Array(3 * DB_BLOCK_BYTES);
    encodeFreedMarkerInto(out, DB_BLOCK_BYTES, 7, blocks);
    assert.deepEqual(Buffer.from(out.subarray(DB_BLOCK_BYTES, 2 * DB_BLOCK_BYTES)), Buffer.from(encodeFreedMarker(7, blocks)));
    assert.ok(out.subarray(0, DB_BLOCK_BYTES).every((b) => b === 0) && out.subarray(2 * DB_BLOCK_BYTES).every((b) => b === 0), 'nothing outside its block');
  }
});

test("crc32Of is zlib's crc32 of the range, seeded (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 0xffff_ffff }), (b, x, y, seed) => {
      const from = b.length === 0 ? 0 : x % b.length;
      const to = from + (b.length === from ? 0 : y % (b.length - from + 1));
      // zlib's crc32 of an empty range is its seed, except of a buffer without memory (0): crc32Of's is the seed.
      assert.equal(crc32Of(b, from, to, seed), to > from ? crc32(b.subarray(from, to), seed) : seed);
    }),
  );
});

test('image iovecs fill the extent exactly: head, data, crc, zero padding (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3 * DB_BLOCK_BYTES }), fc.integer({ min: 0, max: 2 ** 40 }), (data, lsn) => {
      const { buffers, blocks } = encodeImage(9, lsn, data);
      const bytes = Buffer.concat(buffers);
      assert.equal(bytes.byteLength, blocks * DB_BLOCK_BYTES);
      const end = 24 + data.byteLength + 4;
      assert.ok(bytes.subarray(end).every((b) => b === 0));
      assert.deepEqual(bytes.subarray(24, 24 + data.byteLength), Buffer.from(data));
    }),
  );
});

test('an image encoded in place is encodeImage\'s extent, at any block of a zeroed buffer, and nothing outside it (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3 * DB_BLOCK_BYTES }), fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 3 }), fc.nat(), (data, lsn, block, salt) => {
      const { buffers, blocks } = encodeImage(salt, lsn, data);
      const out = new Uint8Array((block + blocks + 1) * DB_BLOCK_BYTES);
      assert.equal(encodeImageInto(out, block * DB_BLOCK_BYTES, salt, lsn, data), blocks);
      assert.deepEqual(Buffer.from(out.subarray(block * DB_BLOCK_BYTES, (block + blocks) * DB_BLOCK_BYTES)), Buffer.concat(buffers));
      assert.ok(imageCrcMatches(out, block * DB_BLOCK_BYTES, readImageHead(out, block * DB_BLOCK_BYTES)!, salt), 'its crc checks out');
      assert.ok(out.subarray(0, block * DB_BLOCK_BYTES).every((b) => b === 0) && out.subarray((block + blocks) * DB_BLOCK_BYTES).every((b) => b === 0));
    }),
  );
  // No data, in an array without memory (zlib's crc32 of it is 0 whatever the seed).
  const out = new Uint8Array(DB_BLOCK_BYTES);
  encodeImageInto(out, 0, 77, 1, Uint8Array.from([]));
  assert.ok(imageCrcMatches(out, 0, readImageHead(out, 0)!, 77));
});

test('payload id: the engine\'s E1 check decides; empty, running past the data, over 512 bytes or not UTF-8 is invalid', () => {
  const parse = (p: Uint8Array): string | undefined => parsePayloadId(p, 0, p.byteLength);
  assert.equal(parse(new Uint8Array([0])), undefined);
  assert.equal(parse(new Uint8Array([0, 0])), undefined, 'empty');
  assert.equal(parse(new Uint8Array([20, 0, 0x61])), undefined);
  assert.equal(parse(new Uint8Array(0)), undefined);
  assert.equal(parse(new Uint8Array([1, 0, 0xff])), undefined, 'not UTF-8');
  assert.equal(parse(new Uint8Array([3, 0, 0x61, 0x62, 0x63])), 'abc', 'short IDs are IDs');
  assert.equal(parse(payload('a b/c%d:e.f')), 'a b/c%d:e.f-----');
  assert.equal(parse(payload('x'.repeat(512))), 'x'.repeat(512));
  assert.equal(parse(payload('x'.repeat(513))), undefined);
});

test('payloadHasId answers parsePayloadId(...) === id for any id and payload, ASCII or not (property)', () => {
  const strId = (s: string): Uint8Array => {
    const b = Buffer.from(s, 'utf8');
    return new Uint8Array([b.length & 0xff, b.length >> 8, ...b]);
  };
  const ids = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.string({ unit: 'grapheme', maxLength: 8 }),
    fc.string({ unit: fc.constantFrom('a', '\ud800', 'é', '-'), maxLength: 6 }),
    fc.constantFrom('', 'x'.repeat(512), 'x'.repeat(513), 'é'.repeat(256), 'é'.repeat(257)),
  );
  fc.assert(
    fc.property(ids, ids, fc.uint8Array({ maxLength: 4 }), fc.nat(), fc.integer({ min: -3, max: 0 }), (id, stored, tail, flip, cut) => {
      const bytes = Uint8Array.from([0xaa, ...strId(stored), ...tail]);
      if (flip % 3 === 0 && bytes.length > 1) bytes[1 + (flip % (bytes.length - 1))]! ^= 1 << flip % 8;
      const dataBytes = Math.max(0, bytes.length - 1 + cut);
      assert.equal(payloadHasId(bytes, 1, dataBytes, id), parsePayloadId(bytes, 1, dataBytes) === id);
      assert.equal(payloadHasId(strId(id), 0, strId(id).length, id), parsePayloadId(strId(id), 0, strId(id).length) === id);
    }),
    { numRuns: 3000 },
  );
});

test('salt recovery: the seed of any crc is solved exactly (crc-32 is affine in its seed)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.integer({ min: 0, max: 0xffffffff }), (data, seed) => {
      assert.equal(solveSeed(data, crc32(data, seed)), seed);
    }),
    { numRuns: 200 },
  );
});
