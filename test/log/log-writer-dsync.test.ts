// The log writer under 'fsync' with O_DSYNC (the default): a group that waits for its sync
// is one writev through the log's O_DSYNC handle, durable when it returns, with no datasync;
// one written behind unsynced lazy groups still takes writev + datasync (an O_DSYNC write
// syncs its own range only). Runs on the simulated file layer, which models O_DSYNC.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isSessiondError } from '../../src/errors.js';
import { RecordType } from '../../src/format/constants.js';
import type { FileHandle, FileSystem, OpenMode, OpenOptions } from '../../src/fs/file-system.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import type { LogWriter } from '../../src/log/log-writer.js';
import { HoldingFileSystem, payload, readAll } from './log-fixtures.js';
import { LOG0, LOG1, openWriter, settle, turn } from './open-writer.js';

function append(w: LogWriter, lazy = false): { lsn: number; durable: Promise<void> } {
  return w.append(RecordType.PUT, payload(w.nextLsn, 50), 0, lazy);
}

/** The LSNs a power loss now would keep in `path` (only what is durable). */
async function durableLsns(sim: SimFileSystem, path: string): Promise<number[]> {
  const kept = new SimFileSystem();
  kept.writeFileSync(path, sim.durableFileSync(path)!);
  return (await readAll(kept, path)).records.map((r) => r.rec.lsn);
}

/** Forwards to `inner`, O_DSYNC included, and holds every writev of an O_DSYNC handle while `holding`. */
class HoldDsyncWrites {
  holding = false;
  held: Array<() => void> = [];
  constructor(private readonly inner: FileSystem) {}
  readonly fs: FileSystem = {
    open: async (path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> => {
      const h = await this.inner.open(path, mode, options);
      if (h.dsync !== true) return h;
      const writev = h.writev.bind(h);
      return Object.assign(Object.create(h) as FileHandle, {
        writev: async (b: readonly Uint8Array[], p: number) => {
          if (this.holding) await new Promise<void>((go) => this.held.push(go));
          return writev(b, p);
        },
      });
    },
    stat: (p) => this.inner.stat(p),
    readdir: (p) => this.inner.readdir(p),
    mkdir: (p) => this.inner.mkdir(p),
    rename: (a, b) => this.inner.rename(a, b),
    unlink: (p) => this.inner.unlink(p),
    syncDir: (p) => this.inner.syncDir(p),
  };
}

describe('LogWriter with O_DSYNC', () => {
  it('writes a group with one O_DSYNC writev and no datasync; durable when it returns', async () => {
    const { w, sim, groups } = await openWriter();
    const c0 = sim.opCounts;
    const appends = Array.from({ length: 50 }, () => append(w));
    await Promise.all(appends.map((a) => a.durable));
    const c1 = sim.opCounts;
    assert.equal(c1.writev - c0.writev, 1);
    assert.equal(c1.datasync - c0.datasync, 0);
    assert.deepEqual(groups, [{ records: 50, bytes: 50 * 106 }]);
    assert.deepEqual(await durableLsns(sim, LOG0), appends.map((a) => a.lsn), 'a power loss keeps every acknowledged record');
    assert.equal(w.durableLsn, 50);
    assert.equal(w.stats().syncs, 1);
    // The next group states the bytes of the first as synced, as after a datasync.
    await append(w).durable;
    const { records } = await readAll(sim, LOG0);
    assert.equal(records[50]!.rec.syncedBytes, records[49]!.offset + 106);
    assert.deepEqual(await durableLsns(sim, LOG0), [...appends.map((a) => a.lsn), 51]);
    await w.close();
  });

  it('acknowledges nothing before the O_DSYNC write returns, and starts no other write meanwhile', async () => {
    let hold!: HoldDsyncWrites;
    const { w, sim } = await openWriter({}, (s) => (hold = new HoldDsyncWrites(s)).fs);
    hold.holding = true;
    const first = append(w);
    let done = false;
    void first.durable.then(() => (done = true));
    while (hold.held.length === 0) await turn();
    const writevs = sim.opCounts.writev;
    const second = [append(w), append(w)];
    await settle();
    assert.equal(done, false, 'acknowledged before its O_DSYNC write returned');
    assert.equal(w.durableLsn, 0);
    assert.equal(sim.opCounts.writev, writevs, 'a second write started while the first was in flight');
    hold.holding = false;
    for (const go of hold.held.splice(0)) go();
    await Promise.all([first, ...second].map((a) => a.durable));
    assert.equal(w.durableLsn, 3);
    assert.deepEqual(await durableLsns(sim, LOG0), [1, 2, 3]);
    await w.close();
  });

  it('a group behind unsynced lazy groups takes writev + datasync, which syncs them too; then O_DSYNC again', async () => {
    const { w, sim } = await openWriter({ fsyncIntervalMs: 1e6 });
    const d0 = sim.opCounts.datasync;
    const lazy = [append(w, true)];
    await settle();
    lazy.push(append(w, true));
    await settle();
    assert.equal(sim.opCounts.datasync, d0, 'a lazy group asks for no sync');
    assert.deepEqual(await durableLsns(sim, LOG0), []);
    const eager = append(w);
    await Promise.all([...lazy, eager].map((a) => a.durable));
    assert.equal(sim.opCounts.datasync, d0 + 1, 'the lazy groups before it are synced by a datasync');
    assert.deepEqual(await durableLsns(sim, LOG0), [1, 2, 3]);
    const w0 = sim.opCounts.writev;
    await append(w).durable;
    assert.deepEqual([sim.opCounts.writev - w0, sim.opCounts.datasync - d0], [1, 1], 'nothing unsynced before it: O_DSYNC');
    assert.deepEqual(await durableLsns(sim, LOG0), [1, 2, 3, 4]);
    await w.close();
  });

  it('a failed O_DSYNC write is fatal and never retried; its bytes are not durable', async () => {
    const { w, sim, fatals } = await openWriter();
    await append(w).durable;
    const c0 = sim.opCounts;
    sim.injectFault({ op: 'writev', path: LOG0, code: 'EIO' });
    const failed = append(w);
    await assert.rejects(failed.durable, (e) => isSessiondError(e, 'SESSIOND_READ_ONLY') && e.context.op === 'writev');
    await settle();
    const c1 = sim.opCounts;
    assert.deepEqual([c1.writev - c0.writev, c1.datasync - c0.datasync], [1, 0], 'retried');
    assert.equal(fatals.length, 1);
    assert.equal(w.durableLsn, 1);
    assert.equal((await readAll(sim, LOG0)).records.length, 2, 'the page cache has it');
    assert.deepEqual(await durableLsns(sim, LOG0), [1], 'the disk does not');
    assert.throws(() => append(w), (e) => e === w.failed);
    await w.close();
  });

  it('swaps logs: the records of both are durable', async () => {
    const { w, sim, swaps } = await openWriter({ logSwapBytes: 600 });
    for (let i = 0; i < 4; i++) await Promise.all([append(w), append(w)].map((a) => a.durable));
    assert.equal(swaps.length, 1);
    const all = [...(await durableLsns(sim, LOG0)), ...(await durableLsns(sim, LOG1))];
    assert.deepEqual(all, Array.from({ length: 8 }, (_, i) => i + 1));
    assert.ok((await durableLsns(sim, LOG1)).length > 0);
    await w.close();
  });

  it('a layer whose handles do not take O_DSYNC gets writev + datasync', async () => {
    let hfs!: HoldingFileSystem;
    const { w } = await openWriter({}, (s) => (hfs = new HoldingFileSystem(s)));
    const d0 = hfs.datasyncs;
    await append(w).durable;
    assert.equal(hfs.datasyncs, d0 + 1);
    await w.close();
  });

  it("'interval' and 'none' open no O_DSYNC handle", async () => {
    for (const durability of ['interval', 'none'] as const) {
      let dsyncOpens = 0;
      const { w } = await openWriter({ durability }, (s) => ({
        open: (p: string, m: OpenMode, o?: OpenOptions) => {
          if (o?.dsync === true) dsyncOpens++;
          return s.open(p, m, o);
        },
        stat: (p) => s.stat(p),
        readdir: (p) => s.readdir(p),
        mkdir: (p) => s.mkdir(p),
        rename: (a, b) => s.rename(a, b),
        unlink: (p) => s.unlink(p),
        syncDir: (p) => s.syncDir(p),
      }));
      await append(w).durable;
      assert.equal(dsyncOpens, 0, durability);
      await w.close();
    }
  });
});
