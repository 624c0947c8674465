/**
 * Read-back before release (kind: unit, engine on the simulated file layer with a
 * damaging wrapper). An image damaged on its way to disk, between the batch's fdatasync and
 * the read-back, is written again; damaged again, the store turns read-only with
 * SESSIOND_DB_CORRUPT and keeps the log that can redo it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { readLog } from '../../src/log/log-reader.js';
import { readImageHead } from '../../src/db/image-codec.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import { verifyStore } from '../../src/cli/verify-store.js';
import { engineOptions, STORE_DIR } from '../crash/crash-harness.js';
import { wrapFileSystem } from '../support/wrap-file-system.js';

const DB = join(STORE_DIR, 'sessions.db');
const LOGS = [join(STORE_DIR, 'log-0'), join(STORE_DIR, 'log-1')];

function id(n: number): string {
  return `session-${String(n).padStart(8, '0')}`;
}

/**
 * Damages images of sessions.db on "disk": after each fdatasync, every image written since
 * the last one (while `budget` lasts) gets a payload byte flipped and made durable, as a
 * misdirected or rotted write would leave it.
 */
class Damager {
  budget = 0;
  damaged: number[] = [];
  private pending: number[] = [];
  readonly fs: FileSystem;
  constructor(readonly sim: SimFileSystem) {
    this.fs = wrapFileSystem(sim, (path, h) => {
      if (path !== DB) return {};
      return {
        writev: async (buffers, position) => {
          const head = buffers[0]!;
          if (head.byteLength >= 24 && readImageHead(head, 0) !== undefined) this.pending.push(position);
          await h.writev(buffers, position);
        },
        datasync: async () => {
          await h.datasync();
          const hit = this.pending.splice(0);
          for (const at of hit) {
            if (this.budget <= 0) break;
            this.budget--;
            const b = new Uint8Array(512);
            await h.read(b, 0, 512, at);
            b[150] = b[150]! ^ 0x10; // in the payload past the id, as the census needs it to name the session
            await h.writev([b], at);
            this.damaged.push(at);
          }
          if (hit.length > 0) await h.datasync();
        },
      };
    });
  }
}

async function openOn(fs: FileSystem, sim: SimFileSystem, salvage = false): Promise<SessionEngine> {
  return SessionEngine.open({ ...engineOptions(sim, new ManualClock()), fs, salvage });
}

/** Saves sessions 0..n-1; returns how many were acknowledged (a read-only store refuses the rest). */
async function saveAll(e: SessionEngine, n: number): Promise<number> {
  for (let i = 0; i < n; i++) {
    try {
      await e.save(id(i), { attributes: { n: String(i), pad: 'x'.repeat(200) } });
    } catch {
      return i;
    }
  }
  return n;
}

async function logRecords(sim: SimFileSystem): Promise<number> {
  let n = 0;
  for (const p of LOGS) if (sim.exists(p)) n += (await readLog(sim, p, { salvage: true, recordBytesMax: 1 << 20 }, () => {})).records;
  return n;
}

test('an image damaged between its fdatasync and the read-back is rewritten to fresh blocks; a reopen finds every acknowledged change', async () => {
  const sim = new SimFileSystem();
  const d = new Damager(sim);
  const e = await openOn(d.fs, sim);
  await saveAll(e, 20);
  d.budget = 1;
  await e.flush();
  assert.equal(d.damaged.length, 1);
  assert.equal(e.readOnlyReason, undefined);
  assert.equal((await e.stats()).flush.imagesRewritten, 1);
  await e.close();
  assert.equal((await verifyStore(sim, STORE_DIR)).ok, true);
  const again = await openOn(sim, sim);
  try {
    assert.equal(again.ids().length, 20);
    for (let i = 0; i < 20; i++) assert.equal(attributesFromBlob(again.get(id(i))!.attrs).get('n'), String(i));
    assert.deepEqual(again.recovery.corruption, []);
  } finally {
    await again.close();
  }
});

test('an image that reads back damaged twice turns the store read-only with SESSIOND_DB_CORRUPT (file, offset) and its log is not released', async () => {
  const sim = new SimFileSystem();
  const d = new Damager(sim);
  const e = await openOn(d.fs, sim);
  d.budget = Number.POSITIVE_INFINITY;
  // Enough to swap logs (engineOptions: logSwapBytes 4096): the swap's flush would release the old one.
  const acknowledged = await saveAll(e, 40);
  const flushed = await e.flush().then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(acknowledged >= 10, `only ${acknowledged} saves acknowledged`);
  assert.ok((await logRecords(sim)) >= acknowledged, 'every acknowledged save is still in the logs');
  assert.ok(flushed !== undefined, 'the flush fails');
  const reason = e.readOnlyReason;
  assert.equal(reason?.context.cause, 'SESSIOND_DB_CORRUPT', String(reason));
  assert.equal(reason?.context.file, DB);
  assert.ok(d.damaged.includes(Number(reason?.context.offset)));
  await e.close().catch(() => undefined);
  // The kept log redoes the damaged images (recovery.ts): every acknowledged save is back.
  const again = await openOn(sim, sim);
  try {
    for (let i = 0; i < acknowledged; i++) assert.equal(attributesFromBlob(again.get(id(i))!.attrs).get('n'), String(i));
    assert.ok(again.recovery.repaired.some((r) => r.file === DB));
    assert.deepEqual(again.recovery.corruption, []);
  } finally {
    await again.close();
  }
});
