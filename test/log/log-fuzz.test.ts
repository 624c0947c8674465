// Fuzz tests of the log decoder and reader: random bytes and random mutations of valid
// logs never make them throw anything but a SessiondError, nor yield a record that was
// never written.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isSessiondError } from '../../src/errors.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { encodeLogHeader } from '../../src/log/log-header.js';
import { decodeRecord, encodeRecord, type LogRecord } from '../../src/log/record-codec.js';
import { header, readAll, record, payload, syncedLog } from './log-fixtures.js';

const PATH = '/store/log-0';
const RUNS = Number(process.env.SESSIOND_LOG_FUZZ_RUNS ?? 300);

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'overwrite'; at: number; bytes: Uint8Array }
  | { kind: 'zero'; at: number; len: number }
  | { kind: 'copy'; from: number; to: number; len: number }
  | { kind: 'truncate'; at: number };

const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ kind: fc.constant('zero' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 300 }) }),
  fc.record({ kind: fc.constant('copy' as const), from: fc.nat(), to: fc.nat(), len: fc.integer({ min: 1, max: 400 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

/** Applies mutations; positions wrap around the current length. */
function mutate(src: Uint8Array, muts: readonly Mutation[]): Uint8Array {
  let b = src.slice();
  for (const m of muts) {
    if (b.byteLength === 0) break;
    const at = (n: number): number => n % b.byteLength;
    if (m.kind === 'flip') b[at(m.at)]! ^= 1 << m.bit;
    else if (m.kind === 'overwrite') b.set(m.bytes.subarray(0, b.byteLength - at(m.at)), at(m.at));
    else if (m.kind === 'zero') b.fill(0, at(m.at), at(m.at) + m.len);
    else if (m.kind === 'copy') b.copyWithin(at(m.to), at(m.from), at(m.from) + m.len);
    else b = b.slice(0, at(m.at));
  }
  return b;
}

function sameRecord(got: LogRecord, written: LogRecord | undefined): void {
  assert.ok(written, `record lsn ${got.lsn} was never written`);
  assert.deepEqual(got, written);
}

describe('log fuzz', () => {
  it('decodeRecord on random bytes at any offset never throws and never decodes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(310), fc.nat(), fc.nat(), (buf, offset, salt, gen) => {
        const r = decodeRecord(buf, offset, salt >>> 0, gen, 1 << 20);
        assert.equal(r.ok, false);
      }),
      { numRuns: RUNS * 10 },
    );
  });

  it('decodeRecord on a mutated record yields the written record or nothing', () => {
    const rec = record(77, payload(77, 90), { syncedBytes: 4096, dbOffset: 1024 });
    const bytes = encodeRecord(rec, 99);
    fc.assert(
      fc.property(fc.array(arbMutation, { minLength: 1, maxLength: 4 }), fc.nat(20), (muts, pad) => {
        const m = mutate(bytes, muts);
        const buf = new Uint8Array(pad + m.byteLength);
        buf.set(m, pad);
        const r = decodeRecord(buf, pad, 99, 7, 1 << 20);
        if (r.ok) sameRecord({ ...r.record, data: r.record.data.slice() }, rec);
      }),
      { numRuns: RUNS * 10 },
    );
  });

  it('readLog on mutated logs only throws SessiondError and only yields written records, in LSN order', async () => {
    const log = syncedLog(header(), 25, 30);
    const byLsn = new Map(log.recs.map((r) => [r.lsn, r]));
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbMutation, { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 3000 }),
        async (muts, salvage, readChunkBytes) => {
          const fs = new SimFileSystem();
          fs.writeFileSync(PATH, mutate(log.bytes, muts));
          try {
            const { result, records } = await readAll(fs, PATH, { salvage, readChunkBytes });
            for (const r of records) sameRecord(r.rec, byLsn.get(r.rec.lsn));
            const lsns = records.map((r) => r.rec.lsn);
            assert.deepEqual(lsns, [...new Set(lsns)].sort((a, b) => a - b));
            assert.equal(result.records, records.length);
            assert.ok(result.endOffset <= result.fileBytes);
            if (!salvage) assert.deepEqual(result.corruption, []);
          } catch (e) {
            assert.ok(isSessiondError(e), `threw a non-SessiondError: ${String(e)}`);
            assert.ok(!salvage || e.code !== 'SESSIOND_LOG_CORRUPT', 'salvage threw LOG_CORRUPT');
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('readLog on random bytes, with or without a valid header, yields nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), fc.boolean(), fc.integer({ min: 1, max: 600 }), async (tail, withHeader, readChunkBytes) => {
        const fs = new SimFileSystem();
        const head = withHeader ? encodeLogHeader(header()) : new Uint8Array(0);
        const bytes = new Uint8Array(head.byteLength + tail.byteLength);
        bytes.set(head);
        bytes.set(tail, head.byteLength);
        fs.writeFileSync(PATH, bytes);
        const { result, records } = await readAll(fs, PATH, { salvage: true, readChunkBytes });
        assert.equal(records.length, 0);
        assert.equal(result.tornBytes, withHeader ? tail.byteLength : bytes.byteLength);
      }),
      { numRuns: RUNS },
    );
  });
});
