// Unit tests of the log reader (docs/format.md §1.3): clean ends, torn tails, corruption
// vouched for by a later record, salvage, stale generations, and records split across reads.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LOG_HEADER, LOG_HEADER_BYTES } from '../../src/format/constants.js';
import { isSessiondError } from '../../src/errors.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { encodeLogHeader } from '../../src/log/log-header.js';
import { buildLog, header, payload, readAll, record, syncedLog, type ReadRecord } from './log-fixtures.js';

const PATH = '/store/log-0';

function planted(bytes: Uint8Array): SimFileSystem {
  const fs = new SimFileSystem();
  fs.writeFileSync(PATH, bytes);
  return fs;
}

function lsns(records: ReadRecord[]): number[] {
  return records.map((r) => r.rec.lsn);
}

function flipByte(bytes: Uint8Array, at: number): Uint8Array {
  const b = bytes.slice();
  b[at]! ^= 0x40;
  return b;
}

describe('readLog: clean logs', () => {
  it('streams every record in order with its offset and ends at the file end', async () => {
    const h = header({ firstLsn: 10 });
    const log = syncedLog(h, 12);
    const { result, records } = await readAll(planted(log.bytes), PATH);
    assert.deepEqual(lsns(records), log.recs.map((r) => r.lsn));
    assert.deepEqual(records.map((r) => r.offset), log.offsets);
    assert.deepEqual(records.map((r) => r.rec), log.recs);
    assert.deepEqual(result, {
      path: PATH,
      header: h,
      records: 12,
      lastLsn: 21,
      endOffset: log.bytes.byteLength,
      fileBytes: log.bytes.byteLength,
      tornBytes: 0,
      corruption: [],
      folded: [],
      headerRepaired: false,
      firstLsn: 10,
    });
  });

  it('reads identical records when every read is split at any byte boundary (chunk 1..N)', async () => {
    const log = syncedLog(header(), 6, 30);
    const fs = planted(log.bytes);
    const expected = await readAll(fs, PATH);
    for (let chunk = 1; chunk <= 160; chunk++) {
      const got = await readAll(fs, PATH, { readChunkBytes: chunk });
      assert.deepEqual(got, expected, `readChunkBytes ${chunk}`);
    }
    for (const chunk of [511, 512, 513, log.bytes.byteLength, 1 << 20]) {
      assert.deepEqual(await readAll(fs, PATH, { readChunkBytes: chunk }), expected, `readChunkBytes ${chunk}`);
    }
  });

  it('a header-only log has no records and no torn bytes', async () => {
    const { result, records } = await readAll(planted(encodeLogHeader(header())), PATH);
    assert.equal(records.length, 0);
    assert.equal(result.lastLsn, 0);
    assert.equal(result.endOffset, LOG_HEADER_BYTES);
    assert.equal(result.tornBytes, 0);
  });

  it('a missing file is unallocated, not an error', async () => {
    const { result, records } = await readAll(new SimFileSystem(), '/store/log-1');
    assert.equal(records.length, 0);
    assert.deepEqual(result, {
      path: '/store/log-1',
      header: undefined,
      records: 0,
      lastLsn: 0,
      endOffset: 0,
      fileBytes: 0,
      tornBytes: 0,
      corruption: [],
      folded: [],
      headerRepaired: false,
      firstLsn: 0,
    });
  });

  it('a file of at most one sector with an unreadable header is unallocated (a reset cut by a crash)', async () => {
    const log = syncedLog(header(), 3);
    for (const bytes of [log.bytes.subarray(0, 300), flipByte(log.bytes, 40).subarray(0, LOG_HEADER_BYTES), new Uint8Array(LOG_HEADER_BYTES)]) {
      const { result, records } = await readAll(planted(bytes), PATH);
      assert.equal(records.length, 0);
      assert.equal(result.header, undefined);
      assert.equal(result.tornBytes, bytes.byteLength);
    }
  });

  it('a damaged header followed by records is rebuilt from the salt and generation the records vouch for', async () => {
    const log = syncedLog(header(), 3);
    // a reserved byte, the magic, the crc, the generation: every single byte of the header but the salt
    for (const at of [0, 20, 40, 100, 300, 508]) {
      const { result, records } = await readAll(planted(flipByte(log.bytes, at)), PATH);
      assert.deepEqual(lsns(records), [1, 2, 3], `byte ${at}`);
      assert.equal(result.headerRepaired, true);
      assert.equal(result.header?.generation, 7);
    }
    // the salt itself: two records agree on the salt solved from the first
    const { records } = await readAll(planted(flipByte(log.bytes, LOG_HEADER.salt)), PATH);
    assert.deepEqual(lsns(records), [1, 2, 3]);
  });

  it('a damaged header no record can vouch for, with bytes after it, is SESSIOND_LOG_CORRUPT, never unallocated', async () => {
    const log = syncedLog(header(), 1);
    const bytes = flipByte(log.bytes, LOG_HEADER.salt); // one record: nothing confirms a solved salt
    await assert.rejects(readAll(planted(bytes), PATH), (e) => {
      assert.ok(isSessiondError(e, 'SESSIOND_LOG_CORRUPT'));
      assert.equal(e.context.file, PATH);
      assert.equal(e.context.offset, 0);
      assert.equal(e.context.bytes, bytes.byteLength);
      return true;
    });
    const { result, records } = await readAll(planted(bytes), PATH, { salvage: true });
    assert.equal(records.length, 0);
    assert.deepEqual(result.corruption, [{ offset: 0, bytes: bytes.byteLength }]);
  });

  it('an I/O error while reading is SESSIOND_IO naming the file', async () => {
    const fs = planted(syncedLog(header(), 3).bytes);
    fs.injectFault({ op: 'read', nth: 2, code: 'EIO' });
    await assert.rejects(readAll(fs, PATH), (e) => isSessiondError(e, 'SESSIOND_IO') && e.context.file === PATH && e.context.errno === 'EIO');
  });
});

describe('readLog: torn tails', () => {
  it('a last record cut at any byte is a torn tail: the log ends before it', async () => {
    const log = syncedLog(header(), 5);
    const last = log.offsets[4]!;
    for (let cut = last; cut < log.bytes.byteLength; cut++) {
      const { result, records } = await readAll(planted(log.bytes.subarray(0, cut)), PATH, { readChunkBytes: 7 });
      assert.deepEqual(lsns(records), [1, 2, 3, 4], `cut at ${cut}`);
      assert.equal(result.endOffset, last);
      assert.equal(result.tornBytes, cut - last);
      assert.equal(result.lastLsn, 4);
    }
  });

  it('garbage over the last record, or trailing after it, is a torn tail', async () => {
    const log = syncedLog(header(), 5);
    const last = log.offsets[4]!;
    const garbled = log.bytes.slice();
    garbled.fill(0x5a, last + 10);
    const extended = new Uint8Array(log.bytes.byteLength + 700).fill(0x33);
    extended.set(log.bytes);
    for (const [bytes, end] of [
      [garbled, last],
      [extended, log.bytes.byteLength],
    ] as const) {
      const { result } = await readAll(planted(bytes), PATH);
      assert.equal(result.endOffset, end);
      assert.equal(result.tornBytes, bytes.byteLength - end);
      assert.deepEqual(result.corruption, []);
    }
  });

  it('damage followed by valid records that do not vouch for it is a torn tail (an unsynced run)', async () => {
    // As 'interval' or 'none' write: nothing past the header was known durable.
    const recs = [1, 2, 3, 4, 5, 6].map((lsn) => record(lsn, payload(lsn, 50), { syncedBytes: LOG_HEADER_BYTES }));
    const log = buildLog(header(), recs);
    const { result, records } = await readAll(planted(flipByte(log.bytes, log.offsets[2]! + 60)), PATH);
    assert.deepEqual(lsns(records), [1, 2]);
    assert.equal(result.endOffset, log.offsets[2]);
    assert.equal(result.tornBytes, log.bytes.byteLength - log.offsets[2]!);
  });

  it('damage in the last durable group with nothing after it looks torn (the documented limit)', async () => {
    const log = syncedLog(header(), 5);
    const { result, records } = await readAll(planted(flipByte(log.bytes, log.offsets[4]! + 60)), PATH);
    assert.equal(records.length, 4);
    assert.equal(result.endOffset, log.offsets[4]);
  });
});

describe('readLog: corruption', () => {
  it('a bad record that a later record vouches for is SESSIOND_LOG_CORRUPT with file, offset and bytes', async () => {
    const log = syncedLog(header(), 8);
    const bad = log.offsets[3]!;
    await assert.rejects(readAll(planted(flipByte(log.bytes, bad + 70)), PATH), (e) => {
      assert.ok(isSessiondError(e, 'SESSIOND_LOG_CORRUPT'));
      assert.equal(e.context.file, PATH);
      assert.equal(e.context.offset, bad);
      assert.equal(e.context.bytes, log.offsets[4]! - bad);
      assert.equal(e.context.reason, 'crc');
      return true;
    });
  });

  it('damage whose records the database already holds (appliedLsn) is a folded warning, not an error', async () => {
    const log = syncedLog(header(), 8);
    const bytes = flipByte(log.bytes, log.offsets[3]! + 70); // record 4
    const { result, records } = await readAll(planted(bytes), PATH, { appliedLsn: 4 });
    assert.deepEqual(lsns(records), [1, 2, 3, 5, 6, 7, 8]);
    assert.deepEqual(result.folded, [{ offset: log.offsets[3], bytes: log.offsets[4]! - log.offsets[3]!, fromLsn: 4, toLsn: 4 }]);
    assert.deepEqual(result.corruption, []);
    // one record past appliedLsn lost: corruption again
    await assert.rejects(readAll(planted(bytes), PATH, { appliedLsn: 3 }), (e) => isSessiondError(e, 'SESSIOND_LOG_CORRUPT'));
  });

  it('with salvage, keeps every valid record around each damaged range and lists the ranges', async () => {
    const log = syncedLog(header(), 12);
    let bytes = flipByte(log.bytes, log.offsets[2]! + 1); // magic
    bytes = flipByte(bytes, log.offsets[6]! + 60); // data
    bytes = flipByte(bytes, log.offsets[7]! + 20); // generation: a run of two bad records
    for (const chunk of [1, 5, 64, 1 << 20]) {
      const { result, records } = await readAll(planted(bytes), PATH, { salvage: true, readChunkBytes: chunk });
      assert.deepEqual(lsns(records), [1, 2, 4, 5, 6, 9, 10, 11, 12], `chunk ${chunk}`);
      assert.deepEqual(result.corruption, [
        { offset: log.offsets[2], bytes: log.offsets[3]! - log.offsets[2]!, fromLsn: 3, toLsn: 3 },
        { offset: log.offsets[6], bytes: log.offsets[8]! - log.offsets[6]!, fromLsn: 7, toLsn: 8 },
      ]);
      assert.equal(result.endOffset, bytes.byteLength);
      assert.equal(result.tornBytes, 0);
      assert.equal(result.lastLsn, 12);
    }
  });

  it('with salvage, damage after the last vouching record is still a torn tail', async () => {
    const log = syncedLog(header(), 6);
    let bytes = flipByte(log.bytes, log.offsets[1]! + 60);
    bytes = flipByte(bytes, log.offsets[5]! + 60);
    const { result, records } = await readAll(planted(bytes), PATH, { salvage: true });
    assert.deepEqual(lsns(records), [1, 3, 4, 5]);
    assert.equal(result.corruption.length, 1);
    assert.equal(result.endOffset, log.offsets[5]);
  });

  it('a record whose lsn does not increase is a bad record', async () => {
    const h = header({ firstLsn: 5 });
    const mk = (lsns: number[], synced: (i: number, off: number) => number) => {
      const recs = [];
      let off = LOG_HEADER_BYTES;
      for (const [i, lsn] of lsns.entries()) {
        const data = payload(lsn, 20);
        recs.push(record(lsn, data, { syncedBytes: synced(i, off) }));
        off += 56 + data.byteLength;
      }
      return buildLog(h, recs);
    };
    const repeated = mk([5, 6, 6, 7], (_i, off) => off);
    await assert.rejects(readAll(planted(repeated.bytes), PATH), (e) => isSessiondError(e, 'SESSIOND_LOG_CORRUPT') && e.context.offset === repeated.offsets[2]);
    const salvaged = await readAll(planted(repeated.bytes), PATH, { salvage: true });
    assert.deepEqual(lsns(salvaged.records), [5, 6, 7]);
    const unsynced = mk([5, 6, 4, 7], () => LOG_HEADER_BYTES);
    assert.deepEqual(lsns((await readAll(planted(unsynced.bytes), PATH)).records), [5, 6]);
    const belowFirst = mk([4, 5], () => LOG_HEADER_BYTES);
    assert.deepEqual(lsns((await readAll(planted(belowFirst.bytes), PATH)).records), []);
  });

  it('a record larger than recordBytesMax is a bad record', async () => {
    const recs = [];
    let off = LOG_HEADER_BYTES;
    for (const [i, size] of [50, 200, 50, 50].entries()) {
      recs.push(record(i + 1, payload(i + 1, size), { syncedBytes: off }));
      off += 56 + size;
    }
    const log = buildLog(header(), recs);
    await assert.rejects(
      readAll(planted(log.bytes), PATH, { recordBytesMax: 255 }),
      (e) => isSessiondError(e, 'SESSIOND_LOG_CORRUPT') && e.context.offset === log.offsets[1] && e.context.reason === 'length',
    );
    assert.equal((await readAll(planted(log.bytes), PATH, { recordBytesMax: 256 })).records.length, 4);
  });
});

describe('readLog: generations', () => {
  it('never reads stale records of a previous generation left after a reset', async () => {
    const old = syncedLog(header({ generation: 7, salt: 111 }), 10);
    // The reset's truncate was lost but the new header and three records landed.
    const fresh = syncedLog(header({ generation: 8, salt: 222, firstLsn: 11 }), 3);
    const bytes = old.bytes.slice();
    bytes.set(fresh.bytes);
    const { result, records } = await readAll(planted(bytes), PATH, { salvage: true });
    assert.deepEqual(lsns(records), [11, 12, 13]);
    assert.equal(result.header?.generation, 8);
    assert.equal(result.endOffset, fresh.bytes.byteLength);
    assert.deepEqual(result.corruption, []);
  });

  it('a record of another generation sealed with this salt is refused too', async () => {
    const h = header({ generation: 7 });
    const recs = [record(1, payload(1, 9)), record(2, payload(2, 9), { generation: 6 }), record(3, payload(3, 9))];
    const { records } = await readAll(planted(buildLog(h, recs).bytes), PATH);
    assert.deepEqual(lsns(records), [1]);
  });
});
