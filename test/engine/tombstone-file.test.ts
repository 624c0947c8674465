/** The tombstone file (docs/format.md §5): round trip, and damage is never silent (kind: unit). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTombstoneFile, encodeTombstoneFile, readTombstoneFile, writeTombstoneFile } from '../../src/engine/tombstone-file.js';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { isSessiondError } from '../../src/errors.js';
import { TOMBSTONE_FILE_NAME } from '../../src/format/constants.js';

const CONTENT = { savedAtMs: 1_700_000_000_123, entries: [['AAAAAAAAAAAAAAAAAAAAAAAA', 1_700_000_000_000], ['ünïcode-id:1', 1_700_000_000_100]] as Array<[string, number]> };

test('the tombstone file round-trips its entries and time', () => {
  assert.deepEqual(decodeTombstoneFile(encodeTombstoneFile(CONTENT), 'f'), CONTENT);
  assert.deepEqual(decodeTombstoneFile(encodeTombstoneFile({ savedAtMs: 0, entries: [] }), 'f'), { savedAtMs: 0, entries: [] });
});

test('any flipped bit or truncation of the tombstone file is refused with SESSIOND_TOMBSTONES_CORRUPT', () => {
  const bytes = encodeTombstoneFile(CONTENT);
  for (let at = 0; at < bytes.length; at++) {
    for (let bit = 0; bit < 8; bit++) {
      const bad = Buffer.from(bytes);
      bad[at]! ^= 1 << bit;
      assert.throws(() => decodeTombstoneFile(bad, 'f'), (e) => isSessiondError(e, 'SESSIOND_TOMBSTONES_CORRUPT'), `byte ${at} bit ${bit}`);
    }
  }
  for (let n = 0; n < bytes.length; n++) {
    assert.throws(() => decodeTombstoneFile(bytes.subarray(0, n), 'f'), (e) => isSessiondError(e, 'SESSIOND_TOMBSTONES_CORRUPT'), `cut at ${n}`);
  }
});

test('a store with a damaged tombstone file refuses to open unless salvage, which opens without it', async () => {
  const fs = new SimFileSystem();
  const clock = new ManualClock(1_700_000_000_000);
  const o = { dir: '/s', fs, clock, flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000 };
  const e = await SessionEngine.open(o);
  await e.destroy('AAAAAAAAAAAAAAAAAAAAAAAA');
  await e.close();
  await (await SessionEngine.open(o)).close(); // the reopen carries the tombstone into the file
  const path = `/s/${TOMBSTONE_FILE_NAME}`;
  const bytes = fs.readFileSync(path);
  bytes[bytes.length - 1]! ^= 1;
  fs.writeFileSync(path, bytes);
  await assert.rejects(SessionEngine.open(o), (err) => isSessiondError(err, 'SESSIOND_TOMBSTONES_CORRUPT') && err.context.file === path);
  const salvaged = await SessionEngine.open({ ...o, salvage: true });
  await salvaged.close();
});

test('a crash at any operation of a tombstone file rewrite leaves the old file or the new one, never a mix (crash simulation)', async () => {
  const OLD = { savedAtMs: 1, entries: [['OOOOOOOOOOOOOOOOOOOOOOOO', 1]] as Array<[string, number]> };
  const fresh = async (): Promise<SimFileSystem> => {
    const fs = new SimFileSystem();
    await fs.mkdir('/s');
    await fs.syncDir('/'); // as the engine does at open: else a crash may lose the directory itself
    await writeTombstoneFile(fs, '/s', OLD);
    return fs;
  };
  const dry = await fresh();
  const before = dry.opCount;
  await writeTombstoneFile(dry, '/s', CONTENT);
  const ops = dry.opCount - before;
  for (let k = 1; k <= ops; k++) {
    for (const mode of ['drop-all', 'keep-all', 'tear'] as const) {
      for (let seed = 1; seed <= 4; seed++) {
        const fs = await fresh();
        fs.crashAtOp(k, seed, { mode });
        await writeTombstoneFile(fs, '/s', CONTENT).catch(() => undefined);
        const got = await readTombstoneFile(fs.crashed!, '/s');
        assert.ok(JSON.stringify(got) === JSON.stringify(OLD) || JSON.stringify(got) === JSON.stringify(CONTENT), `op ${k} ${mode} seed ${seed}: ${JSON.stringify(got)}`);
      }
    }
  }
});
