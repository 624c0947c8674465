/** An engine whose open fails after recovery leaves nothing open behind it (kind: unit). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { blockFileDatabase, type SessionDatabase, type SessionDatabaseFactory } from '../../src/engine/session-database.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { isSessiondError } from '../../src/errors.js';

test('an open refused after recovery (cacheBytesMax on a database that cannot read sessions back) closes the database and releases the lock', async () => {
  const fs = new SimFileSystem();
  let closes = 0;
  // The block file without imageLsnOf / readImage: a backend the cache bound cannot evict to.
  const cannotReadBack: SessionDatabaseFactory = {
    async open(opts, onImage) {
      const db = await blockFileDatabase.open(opts, onImage);
      return new Proxy(db, {
        get(target, key) {
          if (key === 'imageLsnOf' || key === 'readImage') return undefined;
          if (key === 'close') {
            return async () => {
              closes++;
              await target.close();
            };
          }
          const v = Reflect.get(target, key, target) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      }) as SessionDatabase;
    },
  };
  await assert.rejects(
    SessionEngine.open({ dir: '/s', fs, database: cannotReadBack, cacheBytesMax: 1 << 20, flushIntervalMs: 3_600_000 }),
    (e: unknown) => isSessiondError(e, 'SESSIOND_INVALID_OPTION') && e.context.option === 'cacheBytesMax',
  );
  assert.equal(closes, 1, 'the database the failed open opened is closed');
  const e = await SessionEngine.open({ dir: '/s', fs, flushIntervalMs: 3_600_000 }); // the lock was released
  await e.close();
});
