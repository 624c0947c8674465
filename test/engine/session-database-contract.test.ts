/**
 * The engine's database contract (kind: contract). The same scenarios run against every
 * SessionDatabaseFactory: the block file, and an in-memory database that stands for the
 * shared backends (PostgreSQL, Redis) to come. The engine is not changed to use either.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { blockFileDatabase, type SessionDatabase, type SessionDatabaseFactory } from '../../src/engine/session-database.js';
import type { DbWriteBatch, StoredImage } from '../../src/db/db-types.js';
import { DB_OFFSET_NONE } from '../../src/format/constants.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { ManualClock } from '../../src/clock.js';
import { attributesFromBlob } from '../../src/session/attributes.js';

/** A database kept in a Map that outlives the engine (like a remote one would). */
function memoryDatabase(): SessionDatabaseFactory & { rows: Map<string, { lsn: number; data: Uint8Array }>; batches: number } {
  const rows = new Map<string, { lsn: number; data: Uint8Array }>();
  let appliedLsn = 0;
  const factory = {
    rows,
    batches: 0,
    async open(_opts: unknown, onImage: (img: StoredImage) => void): Promise<SessionDatabase> {
      for (const [id, r] of rows) onImage({ id, lsn: r.lsn, data: r.data, offset: 0 });
      return {
        get appliedLsn() {
          return appliedLsn;
        },
        get maxImageLsn() {
          return Math.max(0, ...[...rows.values()].map((r) => r.lsn));
        },
        scanReport: { images: rows.size, duplicatesFreed: 0, garbageBlocks: 0, bytesScanned: 0, corruptImagesDropped: 0, headerRebuilt: false },
        has: (id) => rows.has(id),
        offsetOf: () => DB_OFFSET_NONE,
        async writeBatch(b: DbWriteBatch) {
          factory.batches++;
          for (const p of b.puts) rows.set(p.id, { lsn: p.lsn, data: Uint8Array.from(p.data) });
          for (const id of b.deletes) rows.delete(id);
          appliedLsn = Math.max(appliedLsn, b.appliedLsn);
        },
        compact: async () => ({ bytesBefore: 0, bytesAfter: 0, moved: 0 }),
        stats: () => ({ fileBytes: 0, liveImages: rows.size, liveBytes: 0, allocatedBytes: 0, freeBytes: 0, freeExtents: 0, tailFreeBytes: 0, fragmentation: 0, freeOffset: 0 }),
        close: async () => undefined,
      };
    },
  };
  return factory;
}

const A = 'contractAAAAAAAAAAAAAAAA';
const B = 'contractBBBBBBBBBBBBBBBB';

for (const [name, make] of [
  ['block file', () => blockFileDatabase],
  ['in-memory stand-in for a shared backend', () => memoryDatabase()],
] as const) {
  test(`${name}: flushed sessions and deletes survive a reopen, expired ones do not come back`, async () => {
    const database = make();
    const fs = new SimFileSystem();
    const clock = new ManualClock();
    const o = { dir: '/c', fs, clock, database, flushIntervalMs: 3_600_000 };
    const e = await SessionEngine.open(o);
    await e.save(A, { attributes: { n: '1' } });
    await e.save(B, { attributes: { n: '2' }, expiresAtMs: clock.now() + 10 });
    await e.patch(A, { set: { m: '"x"' } });
    await e.flush();
    await e.destroy(B);
    await e.flush();
    await e.close();
    const e2 = await SessionEngine.open(o);
    assert.deepEqual(attributesFromBlob(e2.get(A)!.attrs), new Map([['n', '1'], ['m', '"x"']]));
    assert.equal(e2.get(B), undefined);
    assert.equal(e2.recovery.sessionsRecovered, 1);
    await e2.close();
  });
}

test('the in-memory database really is where the sessions went (the engine used the option)', async () => {
  const database = memoryDatabase();
  const e = await SessionEngine.open({ dir: '/c', fs: new SimFileSystem(), database });
  await e.save(A, { attributes: { n: '1' } });
  await e.flush();
  assert.ok(database.rows.has(A));
  assert.ok(database.batches >= 1);
  await e.close();
});
