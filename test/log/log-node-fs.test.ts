// Integration test of the log writer and reader on the real file layer (node:fs) in a
// temporary directory: the same round trip the simulator runs, against a real kernel.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { RecordType } from '../../src/format/constants.js';
import { nodeFileSystem } from '../../src/fs/node-file-system.js';
import { LogWriter } from '../../src/log/log-writer.js';
import { payload, readAll } from './log-fixtures.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('log on the real file system', () => {
  it('writes groups, swaps, releases, and reads back exactly what was acknowledged', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sessiond-log-'));
    dirs.push(dir);
    const swaps: number[] = [];
    const w = await LogWriter.create({
      fs: nodeFileSystem, dir, clock: new ManualClock(), durability: 'fsync', fsyncIntervalMs: 1000,
      groupCommitBytesMax: 4096, writeQueueBytesMax: 1 << 20, logSwapBytes: 20_000, logSwapMs: 1e9,
      nextLsn: 100, generation: 4,
      onSwap: ({ fromLog }) => swaps.push(fromLog),
    });
    const sizes = new Map<number, number>();
    for (let t = 0; t < 40; t++) {
      const pending = [];
      for (let i = 0; i < 10; i++) {
        const size = (t * 37 + i * 11) % 300;
        const a = w.append(RecordType.PATCH, payload(w.nextLsn, size), t);
        sizes.set(a.lsn, size);
        pending.push(a.durable);
      }
      await Promise.all(pending);
      if (swaps.length === 1 && w.isReleased(0) === false && t === 30) await w.release(0);
    }
    await w.close();
    const logs = [await readAll(nodeFileSystem, join(dir, 'log-0')), await readAll(nodeFileSystem, join(dir, 'log-1'))];
    logs.sort((a, b) => a.result.header!.generation - b.result.header!.generation);
    const lsns = logs.flatMap((l) => l.records.map((r) => r.rec.lsn));
    assert.deepEqual(swaps, [0, 1]);
    assert.ok(logs.every((l) => l.result.tornBytes === 0 && l.result.corruption.length === 0));
    // After the release, log 0 starts over: what it held before is gone (in the database).
    assert.equal(lsns.at(-1), 499);
    assert.deepEqual(lsns, Array.from({ length: lsns.length }, (_, i) => 500 - lsns.length + i));
    for (const l of logs) for (const { rec } of l.records) assert.deepEqual(rec.data, payload(rec.lsn, sizes.get(rec.lsn)!));
  });

  it('opens O_DSYNC handles where node:fs has the flag, and writes through them', { skip: constants.O_DSYNC === undefined }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sessiond-log-'));
    dirs.push(dir);
    const path = join(dir, 'f');
    const plain = await nodeFileSystem.open(path, 'create');
    const dsync = await nodeFileSystem.open(path, 'r+', { dsync: true });
    const readOnly = await nodeFileSystem.open(path, 'r', { dsync: true });
    assert.deepEqual([plain.dsync, dsync.dsync, readOnly.dsync], [false, true, false]);
    await dsync.writev([new Uint8Array([1, 2]), new Uint8Array([3])], 0);
    assert.equal(await plain.size(), 3);
    await Promise.all([plain.close(), dsync.close(), readOnly.close()]);
  });
});
