/**
 * A log reset under power loss (kind: crash simulation, seeded; docs/format.md §1.1).
 * LogFile.reset truncates and fdatasyncs before it writes the new header, so a crash at
 * any point leaves the old file whole, an empty file, or one sector: never a bad header in
 * front of the old records, which a reader must take for damage (log-reader.ts). Mutation
 * found uncaught by any semantic test: dropping the fdatasync after the truncate. A power
 * loss then may keep the header write and drop the truncate, and a torn header sits in front
 * of the old records: with one record nothing can vouch for its salt, and the open is
 * refused as SESSIOND_LOG_CORRUPT after a mere crash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { LOG_HEADER_BYTES } from '../../src/format/constants.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { LogFile, type IoStep } from '../../src/log/log-file.js';
import { decodeLogHeader } from '../../src/log/log-header.js';
import { header, readAll, syncedLog } from './log-fixtures.js';

const DIR = '/reset';
const PATH = join(DIR, 'log-0');
/** Tear seeds per crash point: each replays exactly. */
const SEEDS = 60;

async function fileBytes(fs: SimFileSystem, path: string): Promise<Uint8Array> {
  const fh = await fs.open(path, 'r');
  try {
    const size = await fh.size();
    const out = new Uint8Array(size);
    await fh.read(out, 0, size, 0);
    return out;
  } finally {
    await fh.close();
  }
}

/** Counts the file-system operations of one reset, from opening the handle. */
async function resetOps(records: number): Promise<number> {
  const fs = new SimFileSystem(1);
  fs.writeFileSync(PATH, syncedLog(header({ generation: 4, firstLsn: 10 }), records).bytes);
  const before = fs.opCount;
  await resetOnce(fs);
  return fs.opCount - before;
}

async function resetOnce(fs: SimFileSystem): Promise<void> {
  const io: IoStep = async (_op, _file, f) => {
    await f();
  };
  const log = new LogFile(0, await fs.open(PATH, 'r+'));
  await log.reset({ generation: 6, firstLsn: 10 + 5, salt: 0x0badc0de, createdAtMs: 1_700_000_000_000 }, io);
}

for (const records of [1, 3]) {
  test(`a power loss at any operation of a log reset (old log of ${records} record${records > 1 ? 's' : ''}) never leaves a bad header in front of bytes, and the log reads without error`, async () => {
    const ops = await resetOps(records);
    assert.ok(ops >= 4, `a reset is truncate, datasync, writev, datasync: counted ${ops}`);
    let crashes = 0;
    for (let op = 1; op <= ops + 1; op++) {
      for (let seed = 1; seed <= SEEDS; seed++) {
        const fs = new SimFileSystem(seed);
        fs.writeFileSync(PATH, syncedLog(header({ generation: 4, firstLsn: 10 }), records).bytes);
        if (op <= ops) fs.crashAtOp(op, seed * 131 + op, { mode: 'tear' });
        await resetOnce(fs).catch(() => undefined);
        const survivor = fs.crashed ?? fs.crash(seed * 131 + op, { mode: 'tear' });
        crashes++;
        const bytes = await fileBytes(survivor, PATH);
        const where = `${records} records, crash at op ${op} of ${ops}, seed ${seed}`;
        const h = decodeLogHeader(bytes.subarray(0, LOG_HEADER_BYTES), PATH);
        assert.ok(h !== undefined || bytes.byteLength <= LOG_HEADER_BYTES, `${where}: a bad header with ${bytes.byteLength - LOG_HEADER_BYTES} bytes after it`);
        // The old records were all in the database: whatever is left reads without an error.
        await readAll(survivor, PATH, { appliedLsn: 10 + records - 1 });
      }
    }
    assert.ok(crashes > SEEDS * 4);
  });
}
