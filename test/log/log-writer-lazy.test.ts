// Lazy records (LogWriter.append's `lazy`, the adapters' touches): a group of them is
// written without a datasync of its own, and becomes durable, in LSN order, with the next
// datasync of its log: the next group that waits for one, drain(), the swap, the timer.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isSessiondError } from '../../src/errors.js';
import { LOG_HEADER_BYTES, RecordType } from '../../src/format/constants.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import type { LogWriter } from '../../src/log/log-writer.js';
import { HoldingFileSystem, payload, readAll } from './log-fixtures.js';
import { LOG0, LOG1, openWriter as openAny, settle } from './open-writer.js';

/** The datasync path: with O_DSYNC a group that waits for its sync needs none (log-writer-dsync.test.ts). */
const openWriter: typeof openAny = (over = {}, wrap) => openAny({ dsyncWrites: false, ...over }, wrap);

function appendOne(w: LogWriter, lazy: boolean, dataBytes = 50): { lsn: number; durable: Promise<void> } {
  return w.append(RecordType.TOUCH, payload(w.nextLsn, dataBytes), 0, lazy);
}

/** The LSNs a power loss now would keep in `path`. */
async function durableLsns(sim: SimFileSystem, path: string): Promise<number[]> {
  const kept = new SimFileSystem();
  kept.writeFileSync(path, sim.durableFileSync(path)!);
  return (await readAll(kept, path)).records.map((r) => r.rec.lsn);
}

/** Which of `appends` have resolved, after the writer ran. */
async function settledOf(appends: Array<{ durable: Promise<void> }>): Promise<boolean[]> {
  const done = appends.map(() => false);
  appends.forEach((a, i) => void a.durable.then(() => (done[i] = true), () => undefined));
  await settle();
  return done;
}

// A timeout: a lazy group nothing syncs would wait forever, not fail.
describe('LogWriter lazy records', { timeout: 30_000 }, () => {
  it('a group of lazy records is written without a datasync; the next record that waits for one syncs them, resolving them first', async () => {
    const { w, sim, groups } = await openWriter({ fsyncIntervalMs: 1e6 });
    const d0 = sim.opCounts.datasync;
    const lazy = [appendOne(w, true), appendOne(w, true)];
    assert.deepEqual(await settledOf(lazy), [false, false], 'not acknowledged before a datasync');
    assert.equal(sim.opCounts.datasync, d0, 'no datasync of their own');
    assert.equal((await readAll(sim, LOG0)).records.length, 2, 'written');
    assert.deepEqual(await durableLsns(sim, LOG0), []);
    assert.equal(w.durableLsn, 0);
    const order: number[] = [];
    const all = [...lazy, appendOne(w, false)];
    all.forEach((a) => void a.durable.then(() => order.push(a.lsn)));
    await Promise.all(all.map((a) => a.durable));
    assert.deepEqual(order, [1, 2, 3], 'resolved in LSN order');
    assert.equal(sim.opCounts.datasync, d0 + 1, 'one datasync for all three');
    assert.deepEqual(await durableLsns(sim, LOG0), [1, 2, 3]);
    assert.equal(w.durableLsn, 3);
    assert.deepEqual(groups.map((g) => g.records), [2, 1]);
    await w.close();
  });

  it('a group with a lazy and an eager record is synced like any other', async () => {
    const { w, sim } = await openWriter({ fsyncIntervalMs: 1e6 });
    const d0 = sim.opCounts.datasync;
    await Promise.all([appendOne(w, true), appendOne(w, false)].map((a) => a.durable));
    assert.equal(sim.opCounts.datasync, d0 + 1);
    assert.deepEqual(await durableLsns(sim, LOG0), [1, 2]);
    await w.close();
  });

  it('the fsyncIntervalMs timer syncs lazy groups nobody else syncs, and only those', async () => {
    const { w, sim, clock } = await openWriter({ fsyncIntervalMs: 150 });
    const d0 = sim.opCounts.datasync;
    clock.advance(300);
    await settle();
    assert.equal(sim.opCounts.datasync, d0, 'nothing to sync: the timer does nothing');
    const lazy = appendOne(w, true);
    await settle();
    clock.advance(149);
    assert.deepEqual(await settledOf([lazy]), [false]);
    clock.advance(1);
    await lazy.durable;
    assert.equal(sim.opCounts.datasync, d0 + 1);
    assert.deepEqual(await durableLsns(sim, LOG0), [1]);
    await Promise.all([appendOne(w, false)].map((a) => a.durable));
    clock.advance(300);
    await settle();
    assert.equal(sim.opCounts.datasync, d0 + 2, 'a synced group leaves the timer nothing to do');
    await w.close();
  });

  it('the timer leaves alone a group between its write and its own datasync', async () => {
    let hfs!: HoldingFileSystem;
    const { w, clock } = await openWriter({ fsyncIntervalMs: 150 }, (s) => (hfs = new HoldingFileSystem(s)));
    hfs.hold();
    const eager = appendOne(w, false);
    while (hfs.heldCount === 0) await settle(1);
    const d0 = hfs.datasyncs;
    clock.advance(150); // the log has unsynced bytes, but they are this group's
    hfs.releaseHeld();
    await eager.durable;
    await settle();
    assert.equal(hfs.datasyncs, d0, 'no second datasync');
    assert.equal(w.stats().syncs, 1);
    await w.close();
  });

  it('a tick while the timer\'s sync runs asks for no second sync', async () => {
    let hfs!: HoldingFileSystem;
    const { w, clock } = await openWriter({ fsyncIntervalMs: 150 }, (s) => (hfs = new HoldingFileSystem(s)));
    const lazy = appendOne(w, true);
    assert.deepEqual(await settledOf([lazy]), [false]);
    hfs.hold();
    const d0 = hfs.datasyncs;
    clock.advance(150);
    while (hfs.heldCount === 0) await settle(1);
    clock.advance(150); // the sync is still running: its bytes are not durable yet
    hfs.releaseHeld();
    await lazy.durable;
    await settle();
    assert.equal(hfs.datasyncs, d0 + 1);
    await w.close();
  });

  for (const how of ['drain, written', 'drain, queued', 'close'] as const) {
    it(`${how.split(',')[0]}() syncs a lazy group at once (${how})`, async () => {
      const { w, sim } = await openWriter({ fsyncIntervalMs: 1e6 });
      const lazy = appendOne(w, true);
      if (how !== 'drain, queued') assert.deepEqual(await settledOf([lazy]), [false]);
      await (how === 'close' ? w.close() : w.drain());
      await lazy.durable;
      assert.deepEqual(await durableLsns(sim, LOG0), [1]);
      await w.close();
    });
  }

  it('the swap syncs the old log when it holds lazy records (else a power loss could keep the new log and lose them: a hole)', async () => {
    const { w, sim } = await openWriter({ fsyncIntervalMs: 1e6, logSwapBytes: 2000 });
    await Promise.all([0, 1, 2, 3, 4, 5].map(() => appendOne(w, false, 100).durable));
    const lazy = [appendOne(w, true, 100), appendOne(w, true, 100), appendOne(w, true, 100), appendOne(w, true, 100)];
    assert.deepEqual(await settledOf(lazy), [false, false, false, false]);
    assert.equal(w.activeLog, 0);
    const next = appendOne(w, true, 100); // goes to the other log: the swap comes first
    await Promise.all(lazy.map((a) => a.durable));
    assert.equal(w.activeLog, 1);
    assert.deepEqual(await durableLsns(sim, LOG0), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.ok(sim.durableFileSync(LOG0)!.byteLength > LOG_HEADER_BYTES);
    await w.drain();
    await next.durable;
    assert.deepEqual(await durableLsns(sim, LOG1), [11]);
    await w.close();
  });

  it('a failed datasync rejects the lazy groups waiting for it', async () => {
    const { w, sim } = await openWriter({ fsyncIntervalMs: 1e6 });
    const lazy = appendOne(w, true);
    await settle();
    sim.injectFault({ op: 'datasync', code: 'EIO', nth: 1 });
    const eager = appendOne(w, false);
    for (const a of [lazy, eager]) await assert.rejects(a.durable, (e) => isSessiondError(e, 'SESSIOND_READ_ONLY') && e === w.failed);
    await w.close();
  });

  it("under 'interval' a lazy record is acknowledged like any other, once written", async () => {
    const { w, sim } = await openWriter({ durability: 'interval', fsyncIntervalMs: 1e6 });
    const d0 = sim.opCounts.datasync;
    await appendOne(w, true).durable;
    assert.equal(sim.opCounts.datasync, d0);
    await w.close();
  });
});
