// Unit tests of the log writer: group commit, durability levels, swaps and releases,
// fatal I/O failures, backpressure and close. Runs on the simulated file layer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.js';
import { isSessiondError } from '../../src/errors.js';
import { LOG_HEADER_BYTES, RecordType } from '../../src/format/constants.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { decodeLogHeader } from '../../src/log/log-header.js';
import { LogWriter } from '../../src/log/log-writer.js';
import { HoldingFileSystem, payload, readAll } from './log-fixtures.js';
import { DIR, LOG0, LOG1, openWriter, settle, turn } from './open-writer.js';

function appendMany(w: LogWriter, n: number, dataBytes = 50): Array<{ lsn: number; durable: Promise<void> }> {
  const out = [];
  for (let i = 0; i < n; i++) out.push(w.append(RecordType.PUT, payload(w.nextLsn, dataBytes), i));
  return out;
}

async function lsnsIn(fs: FileSystem, path: string): Promise<number[]> {
  return (await readAll(fs, path)).records.map((r) => r.rec.lsn);
}

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown): void => void unhandled.push(e);
before(() => process.on('unhandledRejection', onUnhandled));
after(() => {
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, [], 'no unhandled rejections');
});

describe('LogWriter.create', () => {
  it('resets both logs with fresh headers (generation+1 active, +2 spare), durable, directory synced', async () => {
    const sim = new SimFileSystem();
    sim.writeFileSync(LOG0, new Uint8Array(5000).fill(7));
    const before = sim.opCounts.syncDir;
    const w = await LogWriter.create({
      fs: sim, dir: DIR, clock: new ManualClock(5), durability: 'fsync', fsyncIntervalMs: 1, groupCommitBytesMax: 4096,
      writeQueueBytesMax: 1 << 20, logSwapBytes: 1 << 20, logSwapMs: 1000, nextLsn: 42, generation: 9,
    });
    const h0 = decodeLogHeader(sim.durableFileSync(LOG0)!);
    const h1 = decodeLogHeader(sim.durableFileSync(LOG1)!);
    assert.deepEqual({ ...h0, salt: 0 }, { generation: 10, firstLsn: 42, salt: 0, createdAtMs: 5 });
    assert.deepEqual({ ...h1, salt: 0 }, { generation: 11, firstLsn: 42, salt: 0, createdAtMs: 5 });
    assert.notEqual(h0!.salt, h1!.salt);
    assert.equal(sim.durableFileSync(LOG0)!.byteLength, LOG_HEADER_BYTES);
    assert.ok(sim.opCounts.syncDir > before);
    assert.equal(w.activeLog, 0);
    assert.ok(w.isReleased(0) && w.isReleased(1));
    assert.equal(w.nextLsn, 42);
    assert.equal(w.durableLsn, 41);
    await w.close();
  });

  it('fails with SESSIOND_IO when a file cannot be reset', async () => {
    const sim = new SimFileSystem();
    await sim.mkdir(DIR);
    sim.injectFault({ op: 'datasync', nth: 3, code: 'EIO' }); // two per reset: after the truncate, after the header
    await assert.rejects(
      LogWriter.create({
        fs: sim, dir: DIR, clock: new ManualClock(), durability: 'fsync', fsyncIntervalMs: 1, groupCommitBytesMax: 4096,
        writeQueueBytesMax: 1 << 20, logSwapBytes: 1 << 20, logSwapMs: 1000, nextLsn: 1, generation: 0,
      }),
      (e) => isSessiondError(e, 'SESSIOND_IO') && e.context.file === LOG1 && e.context.op === 'datasync',
    );
  });
});

describe('LogWriter group commit', () => {
  it('writes the appends of one turn with one writev and one datasync (without O_DSYNC)', async () => {
    const { w, sim, groups } = await openWriter({ dsyncWrites: false });
    const c0 = sim.opCounts;
    const appends = appendMany(w, 100);
    assert.deepEqual(appends.map((a) => a.lsn), Array.from({ length: 100 }, (_, i) => i + 1));
    await Promise.all(appends.map((a) => a.durable));
    const c1 = sim.opCounts;
    assert.equal(c1.writev - c0.writev, 1);
    assert.equal(c1.datasync - c0.datasync, 1);
    assert.deepEqual(groups, [{ records: 100, bytes: 100 * 106 }]);
    assert.equal(w.durableLsn, 100);
    const { records } = await readAll(sim, LOG0);
    assert.deepEqual(records.map((r) => r.rec.lsn), appends.map((a) => a.lsn));
    assert.ok(records.every((r, i) => r.rec.syncedBytes === LOG_HEADER_BYTES && r.rec.dbOffset === i));
    assert.deepEqual(records[7]!.rec.data, payload(8, 50));
    await w.close();
  });

  it('resolves durable only after the datasync, and groups everything appended meanwhile into one writev', async () => {
    let hfs!: HoldingFileSystem;
    const { w, sim } = await openWriter({}, (s) => (hfs = new HoldingFileSystem(s)));
    hfs.hold();
    const first = appendMany(w, 3);
    let firstDone = false;
    void Promise.all(first.map((a) => a.durable)).then(() => (firstDone = true));
    while (hfs.heldCount === 0) await turn();
    const writevs = hfs.writevs;
    const second: Array<{ lsn: number; durable: Promise<void> }> = [];
    for (let t = 0; t < 5; t++) {
      second.push(...appendMany(w, 4));
      await turn();
    }
    assert.equal(firstDone, false, 'acknowledged before its datasync completed');
    assert.equal(w.durableLsn, 0);
    assert.equal(hfs.writevs, writevs, 'a second write started while the first sync was in flight');
    hfs.releaseHeld();
    await Promise.all(first.map((a) => a.durable));
    assert.equal(w.durableLsn, 3);
    while (hfs.heldCount === 0 && w.durableLsn < 23) await turn();
    hfs.releaseHeld();
    await w.drain();
    assert.equal(hfs.writevs, writevs + 1);
    const { records } = await readAll(sim, LOG0);
    assert.equal(records.length, 23);
    // Group two was written when group one (3 records of 106 bytes) was durable.
    assert.ok(records.slice(3).every((r) => r.rec.syncedBytes === LOG_HEADER_BYTES + 3 * 106));
    await w.close();
  });

  it('resolves durable promises in LSN order across groups', async () => {
    const { w } = await openWriter({ groupCommitBytesMax: 500 });
    const order: number[] = [];
    const all: Promise<void>[] = [];
    for (let t = 0; t < 10; t++) {
      for (const a of appendMany(w, 1 + (t % 4), 30 + t * 20)) all.push(a.durable.then(() => void order.push(a.lsn)));
      if (t % 3 === 0) await turn();
    }
    await Promise.all(all);
    assert.deepEqual(order, [...order].sort((a, b) => a - b));
    assert.equal(order.length, w.nextLsn - 1);
    await w.close();
  });

  it('caps a group at groupCommitBytesMax (a larger record goes alone)', async () => {
    const { w, sim, groups } = await openWriter({ groupCommitBytesMax: 1000 });
    appendMany(w, 20, 100); // 156 bytes each: 6 per group
    w.append(RecordType.PUT, payload(21, 3000), 0);
    appendMany(w, 2, 100);
    await w.drain();
    assert.deepEqual(groups.map((g) => g.records), [6, 6, 6, 2, 1, 2]);
    assert.ok(groups.every((g) => g.bytes <= 1000 || g.records === 1));
    assert.equal((await lsnsIn(sim, LOG0)).length, 23);
    await w.close();
  });

  it("'none' acknowledges after the write and never syncs", async () => {
    const { w, sim } = await openWriter({ durability: 'none' });
    const d0 = sim.opCounts.datasync;
    for (let t = 0; t < 3; t++) {
      await Promise.all(appendMany(w, 5).map((a) => a.durable));
    }
    await w.close();
    assert.equal(sim.opCounts.datasync, d0);
    assert.equal(w.stats().syncs, 0);
    assert.equal((await lsnsIn(sim.crash(1, { mode: 'keep-all' }), LOG0)).length, 15);
  });

  it("'interval' acknowledges after the write and syncs on the timer", async () => {
    const { w, sim, clock } = await openWriter({ durability: 'interval', fsyncIntervalMs: 150 });
    const d0 = sim.opCounts.datasync;
    await Promise.all(appendMany(w, 10).map((a) => a.durable));
    clock.advance(149);
    await settle();
    assert.equal(sim.opCounts.datasync, d0, 'synced before the interval');
    assert.equal((await lsnsIn(sim, LOG0)).length, 10);
    clock.advance(1);
    await settle();
    assert.equal(w.stats().syncs, 1);
    assert.equal(sim.opCounts.datasync, d0 + 1);
    const durable = new SimFileSystem();
    durable.writeFileSync(LOG0, sim.durableFileSync(LOG0)!);
    assert.equal((await lsnsIn(durable, LOG0)).length, 10);
    clock.advance(300); // two more ticks, nothing new: no more syncs
    await settle();
    assert.equal(w.stats().syncs, 1);
    appendMany(w, 3);
    await w.close(); // close syncs what the timer has not
    assert.equal(w.stats().syncs, 2);
    assert.equal((await lsnsIn(sim.crash(3, { mode: 'drop-all' }), LOG0)).length, 13);
  });
});

describe('LogWriter swaps', () => {
  it('swaps by bytes to the released log, calls onSwap, and waits for release() before swapping back', async () => {
    const { w, sim, swaps } = await openWriter({ logSwapBytes: 2000 });
    for (let t = 0; t < 3; t++) await Promise.all(appendMany(w, 6, 100).map((a) => a.durable)); // 936 bytes a group
    assert.equal(w.activeLog, 1);
    assert.deepEqual(swaps, [{ fromLog: 0, lastLsn: 12 }]);
    assert.equal(w.isReleased(0), false);
    assert.deepEqual(await lsnsIn(sim, LOG0), Array.from({ length: 12 }, (_, i) => i + 1));
    assert.deepEqual(await lsnsIn(sim, LOG1), [13, 14, 15, 16, 17, 18]);
    for (let t = 0; t < 3; t++) await Promise.all(appendMany(w, 6, 100).map((a) => a.durable));
    assert.equal(w.activeLog, 1, 'swapped onto an unreleased log');
    assert.ok(w.stats().logBytes[1] > 2000);
    await w.release(0);
    assert.equal(w.isReleased(0), true);
    const h0 = (await readAll(sim, LOG0)).result;
    assert.equal(h0.header?.generation, 3);
    assert.equal(h0.header?.firstLsn, 37);
    assert.equal(h0.records, 0);
    assert.equal(sim.durableFileSync(LOG0)!.byteLength, LOG_HEADER_BYTES);
    await Promise.all(appendMany(w, 2).map((a) => a.durable));
    assert.equal(w.activeLog, 0);
    assert.deepEqual(swaps, [
      { fromLog: 0, lastLsn: 12 },
      { fromLog: 1, lastLsn: 36 },
    ]);
    assert.deepEqual(await lsnsIn(sim, LOG0), [37, 38]);
    await w.close();
  });

  it('a log released while groups are queued takes them after the swap (header firstLsn stays below them)', async () => {
    const { w, sim } = await openWriter({ logSwapBytes: 1000, groupCommitBytesMax: 400 });
    await Promise.all(appendMany(w, 8, 100).map((a) => a.durable)); // log 0 past logSwapBytes
    await Promise.all(appendMany(w, 8, 100).map((a) => a.durable)); // swapped to log 1, filled past it too
    assert.equal(w.activeLog, 1);
    const queued = appendMany(w, 6, 100); // three groups, not yet taken
    await w.release(0);
    await Promise.all(queued.map((a) => a.durable));
    assert.equal(w.activeLog, 0);
    const { result, records } = await readAll(sim, LOG0);
    assert.equal(result.header?.firstLsn, 17);
    assert.deepEqual(records.map((r) => r.rec.lsn), [17, 18, 19, 20, 21, 22]);
    await w.close();
  });

  it('swaps by age since the first record (ManualClock)', async () => {
    const { w, clock, swaps } = await openWriter({ logSwapMs: 1000 });
    clock.advance(5000); // age counts from the first record, not from create
    await Promise.all(appendMany(w, 2).map((a) => a.durable));
    clock.advance(999);
    await Promise.all(appendMany(w, 2).map((a) => a.durable));
    assert.equal(w.activeLog, 0);
    clock.advance(1);
    await Promise.all(appendMany(w, 2).map((a) => a.durable));
    assert.equal(w.activeLog, 1);
    assert.deepEqual(swaps, [{ fromLog: 0, lastLsn: 4 }]);
    await w.close();
  });

  it('refuses to release the active log and treats release of an empty log as done', async () => {
    const { w } = await openWriter();
    await w.release(1);
    await Promise.all(appendMany(w, 1).map((a) => a.durable));
    assert.throws(() => w.release(0), /active log/);
    await w.close();
  });

  for (const durability of ['interval', 'none'] as const) {
    it(`'${durability}' syncs the old log at the swap (else a power loss could keep the new log's records and lose the old one's: a hole)`, async () => {
      const { w, sim } = await openWriter({ durability, fsyncIntervalMs: 1e6, logSwapBytes: 1000 });
      await Promise.all(appendMany(w, 10, 100).map((a) => a.durable));
      assert.equal(w.stats().syncs, 0);
      await Promise.all(appendMany(w, 1).map((a) => a.durable));
      assert.equal(w.activeLog, 1);
      assert.equal(w.stats().syncs, 1);
      assert.equal(sim.durableFileSync(LOG0)!.byteLength, LOG_HEADER_BYTES + 10 * 156);
      await w.close();
    });
  }

  it("syncWritten() makes every written record durable in both logs under 'none'; under 'fsync' it does no I/O", async () => {
    const none = await openWriter({ durability: 'none', logSwapBytes: 1000 });
    await Promise.all(appendMany(none.w, 3, 100).map((a) => a.durable));
    assert.equal(none.sim.durableFileSync(LOG0)!.byteLength, LOG_HEADER_BYTES);
    await none.w.syncWritten();
    assert.equal(none.sim.durableFileSync(LOG0)!.byteLength, LOG_HEADER_BYTES + 3 * 156);
    await none.w.close();
    const fsync = await openWriter({ durability: 'fsync' });
    await Promise.all(appendMany(fsync.w, 3).map((a) => a.durable));
    const d0 = fsync.sim.opCounts.datasync;
    await fsync.w.syncWritten();
    assert.equal(fsync.sim.opCounts.datasync, d0);
    await fsync.w.close();
  });
});

describe('LogWriter failures', () => {
  // writev with O_DSYNC (the default under 'fsync'): a failed dsync write is a failed fsync.
  for (const [op, dsyncWrites] of [['writev', true], ['writev', false], ['datasync', false]] as const) {
    it(`EIO on ${op}${dsyncWrites ? ' (O_DSYNC)' : ''} makes the writer read-only: every waiter and later append gets SESSIOND_READ_ONLY, never retried`, async () => {
      const { w, sim, fatals } = await openWriter({ groupCommitBytesMax: 5 * 106, dsyncWrites });
      const c0 = sim.opCounts;
      sim.injectFault({ op, code: 'EIO', nth: 1 });
      const first = appendMany(w, 5);
      const second = appendMany(w, 5); // a second group, queued behind the failing one
      const results = await Promise.allSettled([...first, ...second].map((a) => a.durable));
      assert.ok(w.failed);
      for (const r of results) assert.equal(r.status === 'rejected' && r.reason, w.failed);
      assert.equal(w.failed.code, 'SESSIOND_READ_ONLY');
      assert.deepEqual({ ...w.failed.context }, { op, file: LOG0, errno: 'EIO' });
      assert.equal((w.failed.cause as { code?: string }).code, 'EIO');
      assert.deepEqual(fatals, [w.failed]);
      assert.throws(() => w.append(RecordType.PUT, payload(1, 1), 0), (e) => e === w.failed);
      await assert.rejects(w.drain(), (e) => e === w.failed);
      await assert.rejects(w.release(1).then(() => w.release(0)), (e) => e === w.failed);
      await settle();
      const c1 = sim.opCounts;
      assert.equal(c1.writev - c0.writev, 1, 'writev retried');
      assert.equal(c1.datasync - c0.datasync, op === 'datasync' ? 1 : 0, 'datasync retried');
      assert.equal(w.durableLsn, 0);
      assert.deepEqual(w.stats().queuedBytes, 0);
      await w.close();
      assert.deepEqual(fatals.length, 1);
    });
  }

  it('a failed datasync in release() is fatal too', async () => {
    const { w, sim, fatals } = await openWriter({ logSwapBytes: 600 });
    await Promise.all(appendMany(w, 2).map((a) => a.durable));
    await Promise.all(appendMany(w, 2).map((a) => a.durable));
    assert.equal(w.activeLog, 1);
    sim.injectFault({ op: 'datasync', code: 'EIO' });
    await assert.rejects(w.release(0), (e) => isSessiondError(e, 'SESSIOND_READ_ONLY') && e.context.file === LOG0);
    assert.equal(fatals.length, 1);
    assert.equal(w.isReleased(0), false);
    assert.throws(() => w.append(RecordType.PUT, payload(1, 1), 0), (e) => isSessiondError(e, 'SESSIOND_READ_ONLY'));
    await w.close();
  });

  it('nobody awaiting durable after a fatal error leaves no unhandled rejection', async () => {
    const { w, sim } = await openWriter();
    sim.injectFault({ op: 'writev', code: 'ENOSPC', persistent: true });
    appendMany(w, 3);
    await settle();
    assert.equal(w.failed?.context.errno, 'ENOSPC');
    await w.close();
  });
});

describe('LogWriter limits and close', () => {
  it('throws SESSIOND_OVERLOADED past writeQueueBytesMax without using up an LSN', async () => {
    const { w } = await openWriter({ writeQueueBytesMax: 1000 });
    const ok = appendMany(w, 6, 100); // 936 bytes queued
    assert.throws(
      () => w.append(RecordType.PUT, payload(7, 100), 0),
      (e) => isSessiondError(e, 'SESSIOND_OVERLOADED') && e.context.queuedBytes === 936 && e.context.writeQueueBytesMax === 1000,
    );
    assert.equal(w.stats().queuedBytes, 936);
    assert.equal(w.stats().queuedRecords, 6);
    assert.equal(w.append(RecordType.PUT, payload(7, 8), 0).lsn, 7); // 64 bytes still fit
    await Promise.all(ok.map((a) => a.durable));
    assert.equal(w.stats().queuedBytes, 0);
    assert.equal(w.append(RecordType.DELETE, payload(8, 100), 0).lsn, 8);
    await w.close();
  });

  it('close drains what is pending, then refuses appends; close is idempotent', async () => {
    const { w, sim } = await openWriter();
    const pending = appendMany(w, 4);
    const closing = w.close();
    assert.throws(() => w.append(RecordType.PUT, payload(1, 1), 0), (e) => isSessiondError(e, 'SESSIOND_CLOSED'));
    await closing;
    await Promise.all(pending.map((a) => a.durable));
    await w.close();
    assert.equal((await lsnsIn(sim, LOG0)).length, 4);
    await assert.rejects(w.release(0), (e) => isSessiondError(e, 'SESSIOND_CLOSED'));
  });

  it('stats count groups, records and syncs', async () => {
    const { w } = await openWriter();
    await Promise.all(appendMany(w, 3, 10).map((a) => a.durable));
    await Promise.all(appendMany(w, 2, 10).map((a) => a.durable));
    assert.deepEqual(w.stats(), {
      activeLog: 0,
      logBytes: [LOG_HEADER_BYTES + 5 * 66, LOG_HEADER_BYTES],
      queuedBytes: 0,
      queuedRecords: 0,
      groups: 2,
      records: 5,
      syncs: 2,
    });
    await w.close();
  });
});
