// Records appended as encoders (src/log/record-codec.ts RecordData): the save path encodes
// its payload straight into the log writer's group buffer. The bytes on disk must be the
// encoder's, and an encoder that throws or lies about its size must append nothing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AssertionError } from '../../src/assert.js';
import { RecordType } from '../../src/format/constants.js';
import { recordBytes, recordDataBytes, type RecordEncoder } from '../../src/log/record-codec.js';
import { payload, readAll } from './log-fixtures.js';
import { LOG0, openWriter, settle } from './open-writer.js';

/** An encoder of `bytes` (what payload(lsn, n) holds) that claims `claimed` bytes. */
function encoderOf(bytes: Uint8Array, claimed = bytes.byteLength): RecordEncoder {
  return {
    byteLength: claimed,
    writeInto: (t, at) => {
      t.set(bytes, at);
      return at + bytes.byteLength;
    },
  };
}

const throwing = (byteLength: number, err: Error): RecordEncoder => ({
  byteLength,
  writeInto: () => {
    throw err;
  },
});

describe('records appended as encoders', () => {
  it('writes what the encoder writes, in LSN order among records given as bytes, in groups of any size', async () => {
    for (const groupCommitBytesMax of [200, 1000, 1 << 20]) {
      const { w, sim } = await openWriter({ groupCommitBytesMax });
      const expected: Uint8Array[] = [];
      const acks: Array<Promise<void>> = [];
      for (let i = 0; i < 40; i++) {
        const data = payload(w.nextLsn, 1 + ((i * 37) % 300));
        expected.push(data);
        acks.push(w.append(RecordType.PATCH, i % 2 === 0 ? encoderOf(data) : data, i).durable);
      }
      await Promise.all(acks);
      const recs = (await readAll(sim, LOG0)).records;
      assert.deepEqual(
        recs.map((r) => r.rec.lsn),
        expected.map((_, i) => i + 1),
      );
      recs.forEach((r, i) => assert.deepEqual(Buffer.from(r.rec.data), Buffer.from(expected[i]!), `record ${i + 1} (group max ${groupCommitBytesMax})`));
      await w.close();
    }
  });

  it('an encoder that throws appends nothing: the LSN is not used, no empty group is written, the durable LSN never goes back', async () => {
    // 200 bytes a group: the throwing record cannot join the first group, so it would open a new one.
    const { w, sim } = await openWriter({ groupCommitBytesMax: 200 });
    const first = w.append(RecordType.PUT, payload(1, 100), 0);
    const boom = new Error('seal failed');
    assert.throws(() => w.append(RecordType.PUT, throwing(100, boom), 0), (e) => e === boom);
    assert.equal(w.nextLsn, 2, 'the LSN of the failed append is not used');
    await first.durable;
    await settle();
    assert.equal(w.durableLsn, 1);
    assert.equal(w.stats().groups, 1, 'no group for the failed record');
    assert.equal(w.stats().queuedRecords, 0);
    const second = w.append(RecordType.PUT, encoderOf(payload(2, 10)), 0);
    assert.equal(second.lsn, 2);
    await second.durable;
    assert.equal(w.durableLsn, 2);
    assert.deepEqual(
      (await readAll(sim, LOG0)).records.map((r) => r.rec.lsn),
      [1, 2],
    );
    await w.close();
  });

  it('an encoder whose size is not what it writes is an invariant broken, and appends nothing', async () => {
    const { w } = await openWriter();
    const ok = w.append(RecordType.PUT, payload(1, 10), 0);
    for (const claimed of [9, 11]) {
      assert.throws(() => w.append(RecordType.PUT, encoderOf(payload(2, 10), claimed), 0), AssertionError);
      assert.equal(w.nextLsn, 2);
      assert.equal(w.stats().queuedBytes, recordBytes(10), 'only the good record is queued');
    }
    await ok.durable;
    await w.close();
  });

  it('recordDataBytes gives an encoder\'s bytes as a buffer of their own, and bytes as they are', () => {
    const data = payload(3, 33);
    assert.deepEqual(Buffer.from(recordDataBytes(encoderOf(data))), Buffer.from(data));
    assert.equal(recordDataBytes(data), data);
    assert.throws(() => recordDataBytes(encoderOf(data, 34)), AssertionError);
  });
});
