// Property test: random workloads (puts of every size, updates, deletes of known and
// unknown ids, compactions, reopens with odd chunk sizes) against a model Map of
// id → latest image. checkInvariants after every operation; the reopened file and the
// stats must match the model. Replays from its seed; SESSIOND_DB_WORKLOAD_SEEDS runs more.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DatabaseFile } from '../../src/db/database-file.js';
import { DB_OFFSET_NONE } from '../../src/format/constants.js';
import type { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { Prng } from '../../src/util/prng.js';
import { newSim, openCollect, sameBytes, sizedPayload, sid } from './db-test-helpers.js';

const SEEDS = Number(process.env.SESSIOND_DB_WORKLOAD_SEEDS ?? 12);
const OPS = 250;
const ID_POOL = 40;

type Model = Map<string, { lsn: number; data: Uint8Array }>;

function randomSize(rng: Prng): number {
  const r = rng.float();
  if (r < 0.6) return 8 + rng.int(480);
  if (r < 0.9) return 8 + rng.int(3000);
  if (r < 0.98) return 8 + rng.int(12_000);
  return 20_000 + rng.int(20_000); // bigger than the smallest read chunk
}

async function reopen(fs: SimFileSystem, db: DatabaseFile, model: Model, rng: Prng, where: string): Promise<DatabaseFile> {
  await db.close();
  const readChunkBytes = rng.pick([512, 1024, 8192, undefined]);
  const r = await openCollect(fs, { readChunkBytes });
  assert.equal(r.images.size, model.size, `${where}: session count`);
  for (const [id, want] of model) {
    const got = r.images.get(id);
    assert.ok(got && got.lsn === want.lsn && sameBytes(got.data, want.data), `${where}: session ${id}`);
    assert.equal(r.db.offsetOf(sid(id)), got.offset);
  }
  assert.equal(r.db.scanReport.duplicatesFreed, 0, `${where}: a clean file has no duplicates`);
  return r.db;
}

async function runWorkload(seed: number): Promise<void> {
  const rng = new Prng(seed);
  const fs = await newSim();
  let { db } = await openCollect(fs);
  const model: Model = new Map();
  let lsn = 0;
  for (let op = 0; op < OPS; op++) {
    const where = `seed ${seed} op ${op}`;
    const r = rng.float();
    if (r < 0.75) {
      const puts = new Map<string, { lsn: number; data: Uint8Array }>();
      for (let n = rng.int(9); n > 0; n--) {
        const id = `id${rng.int(ID_POOL)}`;
        puts.set(id, { lsn: ++lsn, data: sizedPayload(id, randomSize(rng), rng.int(256)) });
      }
      const deletes = new Set<string>();
      for (let n = rng.int(5); n > 0; n--) {
        const id = `id${rng.int(ID_POOL + 5)}`; // some never exist
        if (!puts.has(id)) deletes.add(id);
      }
      lsn += rng.int(3);
      await db.writeBatch({ puts: [...puts].map(([id, p]) => ({ id: sid(id), ...p })), deletes: [...deletes].map(sid), appliedLsn: lsn });
      for (const [id, p] of puts) model.set(id, p);
      for (const id of deletes) model.delete(id);
      for (const id of puts.keys()) assert.notEqual(db.offsetOf(sid(id)), DB_OFFSET_NONE, where);
      assert.equal(db.appliedLsn, lsn, where);
    } else if (r < 0.87) {
      const before = db.stats().fileBytes;
      const result = await db.compact();
      assert.ok(result.bytesAfter <= before, where);
      assert.equal(db.stats().tailFreeBytes, 0, where);
    } else {
      db = await reopen(fs, db, model, rng, where);
    }
    db.checkInvariants();
    const s = db.stats();
    assert.equal(s.liveImages, model.size, where);
    assert.equal(db.maxImageLsn, Math.max(0, ...[...model.values()].map((m) => m.lsn)), where);
    for (const id of model.keys()) assert.ok(db.has(sid(id)), `${where}: has ${id}`);
  }
  await reopen(fs, db, model, rng, `seed ${seed} end`).then((d) => d.close());
}

test('random workloads keep the invariants and match the model', async () => {
  for (let seed = 1; seed <= SEEDS; seed++) await runWorkload(seed);
});
