// Unit and property tests of the log record codec and the log header (docs/format.md §1.1, §1.2).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DB_OFFSET_NONE, LOG_HEADER, LOG_HEADER_BYTES, RecordType } from '../../src/format/constants.js';
import { isSessiondError } from '../../src/errors.js';
import { decodeLogHeader, encodeLogHeader } from '../../src/log/log-header.js';
import {
  decodeRecord,
  encodeRecord,
  encodeRecordInto,
  recordBytes,
  sealRecord,
  writeRecordBody,
  type LogRecord,
} from '../../src/log/record-codec.js';
import { crc32 } from 'node:zlib';
import { header, payload, record } from './log-fixtures.js';

const SALT = 0x1234abcd;
const MAX = 1 << 20;
const u64 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

const arbRecord: fc.Arbitrary<LogRecord> = fc.record({
  type: fc.constantFrom(RecordType.PUT, RecordType.PATCH, RecordType.TOUCH, RecordType.DELETE),
  generation: u64,
  lsn: u64,
  dbOffset: fc.oneof(u64, fc.constant(DB_OFFSET_NONE)),
  syncedBytes: u64,
  data: fc.uint8Array({ maxLength: 600 }),
});

/** Records of a few shapes: empty data, odd sizes, large u64 fields. */
const SAMPLES: LogRecord[] = [
  record(1, new Uint8Array(0)),
  record(2, payload(2, 1), { type: RecordType.DELETE }),
  record(Number.MAX_SAFE_INTEGER, payload(3, 37), { generation: 2 ** 40 + 3, dbOffset: 2 ** 33 + 1, syncedBytes: 2 ** 35 }),
];

describe('record codec', () => {
  it('round-trips any record (property)', () => {
    fc.assert(
      fc.property(arbRecord, fc.integer({ min: 0, max: 0xffffffff }), fc.nat(64), (rec, salt, pad) => {
        const buf = new Uint8Array(pad + recordBytes(rec.data.byteLength) + 3);
        const n = encodeRecordInto(buf, pad, rec, salt);
        assert.equal(n, recordBytes(rec.data.byteLength));
        const r = decodeRecord(buf, pad, salt, rec.generation, MAX);
        assert.ok(r.ok);
        assert.equal(r.bytes, n);
        assert.deepEqual({ ...r.record, data: Array.from(r.record.data) }, { ...rec, data: Array.from(rec.data) });
      }),
    );
  });

  it('writeRecordBody + sealRecord (the writer path) gives the same bytes as encodeRecord', () => {
    fc.assert(
      fc.property(arbRecord, fc.integer({ min: 0, max: 0xffffffff }), (rec, salt) => {
        const buf = new Uint8Array(recordBytes(rec.data.byteLength)).fill(0xee);
        writeRecordBody(buf, 0, rec.type, rec.lsn, rec.dbOffset, rec.data);
        sealRecord(buf, 0, rec.generation, rec.syncedBytes, salt);
        assert.deepEqual(buf, encodeRecord(rec, salt));
      }),
    );
  });

  it('says short at every truncation point of a valid record', () => {
    for (const rec of SAMPLES) {
      const bytes = encodeRecord(rec, SALT);
      for (let cut = 0; cut < bytes.byteLength; cut++) {
        const r = decodeRecord(bytes.subarray(0, cut), 0, SALT, rec.generation, MAX);
        assert.deepEqual(r, { ok: false, reason: 'short' }, `cut at ${cut}`);
      }
    }
  });

  it('detects every single-bit flip', () => {
    for (const rec of SAMPLES) {
      const bytes = encodeRecord(rec, SALT);
      for (let bit = 0; bit < bytes.byteLength * 8; bit++) {
        const bad = bytes.slice();
        bad[bit >> 3]! ^= 1 << (bit & 7);
        const r = decodeRecord(bad, 0, SALT, rec.generation, MAX);
        assert.equal(r.ok, false, `bit ${bit} flipped and still decoded`);
      }
    }
  });

  it('names the field a damaged record fails on', () => {
    const rec = record(5, payload(5, 20));
    const bytes = encodeRecord(rec, SALT);
    const flip = (at: number, mask = 1): Uint8Array => {
      const b = bytes.slice();
      b[at]! ^= mask;
      return b;
    };
    const reason = (b: Uint8Array, max = MAX) => {
      const r = decodeRecord(b, 0, SALT, rec.generation, max);
      return r.ok ? 'ok' : r.reason;
    };
    assert.equal(reason(flip(0)), 'magic');
    assert.equal(reason(flip(4)), 'length');
    assert.equal(reason(flip(8)), 'length');
    assert.equal(reason(flip(12, 0x80)), 'type');
    assert.equal(reason(flip(14)), 'reserved');
    assert.equal(reason(flip(16)), 'generation');
    assert.equal(reason(flip(30)), 'crc');
    assert.equal(reason(flip(60)), 'crc');
    assert.equal(reason(flip(bytes.byteLength - 6)), 'crc');
    assert.equal(reason(flip(bytes.byteLength - 1)), 'end-magic');
    assert.equal(reason(bytes, bytes.byteLength - 1), 'length');
    assert.equal(reason(bytes, bytes.byteLength), 'ok');
  });

  it('rejects a record read with the wrong salt or for the wrong generation', () => {
    fc.assert(
      fc.property(arbRecord, fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 0xffffffff }), (rec, salt, delta) => {
        const bytes = encodeRecord(rec, salt);
        assert.deepEqual(decodeRecord(bytes, 0, (salt + delta) >>> 0, rec.generation, MAX), { ok: false, reason: 'crc' });
        const otherGen = rec.generation === 0 ? 1 : rec.generation - 1;
        assert.deepEqual(decodeRecord(bytes, 0, salt, otherGen, MAX), { ok: false, reason: 'generation' });
      }),
    );
  });

  it('rejects a crc-valid record whose u64 field is past 2^53-1', () => {
    const bytes = encodeRecord(record(9, payload(9, 3)), SALT);
    bytes[24 + 7] = 0x01; // lsn high byte: 2^56 + ...
    const crcAt = bytes.byteLength - 8;
    new DataView(bytes.buffer).setUint32(crcAt, crc32(bytes.subarray(0, crcAt), SALT), true);
    assert.deepEqual(decodeRecord(bytes, 0, SALT, 7, MAX), { ok: false, reason: 'reserved' });
  });

  it('data is a view into the buffer and the record into it is untouched around it', () => {
    const rec = record(3, payload(3, 10));
    const buf = new Uint8Array(200).fill(0xaa);
    const n = encodeRecordInto(buf, 50, rec, SALT);
    assert.ok(buf.subarray(0, 50).every((b) => b === 0xaa));
    assert.ok(buf.subarray(50 + n).every((b) => b === 0xaa));
    const r = decodeRecord(buf, 50, SALT, 7, MAX);
    assert.ok(r.ok);
    assert.equal(r.record.data.buffer, buf.buffer);
  });
});

describe('log header', () => {
  it('round-trips (property)', () => {
    fc.assert(
      fc.property(u64, u64, fc.integer({ min: 0, max: 0xffffffff }), u64, (generation, firstLsn, salt, createdAtMs) => {
        const h = { generation, firstLsn, salt, createdAtMs };
        const bytes = encodeLogHeader(h);
        assert.equal(bytes.byteLength, LOG_HEADER_BYTES);
        assert.deepEqual(decodeLogHeader(bytes), h);
      }),
    );
  });

  it('is unallocated (undefined) when short, with a bad magic or a bad crc', () => {
    const bytes = encodeLogHeader(header());
    assert.equal(decodeLogHeader(bytes.subarray(0, 511)), undefined);
    assert.equal(decodeLogHeader(new Uint8Array(0)), undefined);
    for (const at of [0, 7, 16, 32, 100, 508, 511]) {
      const bad = bytes.slice();
      bad[at]! ^= 0x10;
      assert.equal(decodeLogHeader(bad), undefined, `byte ${at}`);
    }
  });

  it('throws SESSIOND_FORMAT_UNSUPPORTED for a valid header of another format version', () => {
    const resealed = (mutate: (b: Uint8Array) => void): Uint8Array => {
      const b = encodeLogHeader(header());
      mutate(b);
      new DataView(b.buffer).setUint32(LOG_HEADER.crc, crc32(b.subarray(0, LOG_HEADER.crc), 0), true);
      return b;
    };
    const v1 = resealed((b) => (b[LOG_HEADER.formatVersion] = 1)); // version 1 had str8 ids: it would be misread
    assert.throws(
      () => decodeLogHeader(v1, '/d/log-0'),
      (e) => isSessiondError(e, 'SESSIOND_FORMAT_UNSUPPORTED') && e.context.file === '/d/log-0' && e.context.formatVersion === 1,
    );
    assert.throws(() => decodeLogHeader(resealed((b) => (b[300] = 1))), (e) => isSessiondError(e, 'SESSIOND_FORMAT_UNSUPPORTED'));
    assert.throws(() => decodeLogHeader(resealed((b) => (b[LOG_HEADER.generation + 7] = 0x40))), (e) => isSessiondError(e, 'SESSIOND_FORMAT_UNSUPPORTED'));
  });
});
