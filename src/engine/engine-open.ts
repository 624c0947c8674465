import { dirname } from 'node:path';
import { assert } from '../assert.js';
import { RECORD_OVERHEAD_BYTES } from '../format/constants.js';
import { ioError } from '../errors.js';
import type { EngineOptions } from '../options.js';
import { MonotonicClock } from '../clock.js';
import { recover, type RecoveryResult } from './recovery.js';
import { SessionCache } from './session-cache.js';
import { StoreLock } from './store-lock.js';
import type { Tombstones } from './tombstones.js';
import { carryTombstones, readTombstones } from './tombstone-file.js';

/**
 * Opening a store, before the engine runs (SessionEngine.open): the directory made durable
 * and locked, then the cache, the clock floor and the tombstones rebuilt from the files.
 */

/** Creates the store directory if needed, makes its entry durable and takes the store lock. */
export async function lockStoreDir(options: EngineOptions): Promise<StoreLock> {
  const { fs, dir } = options;
  await fs.mkdir(dir).catch((e: unknown) => {
    throw ioError('mkdir', dir, e);
  });
  // A new directory is only an entry in its parent until the parent is fsynced: without
  // this, a power loss can take the store directory and every synced file in it.
  await fs.syncDir(dirname(dir)).catch((e: unknown) => {
    throw ioError('fsync the parent of', dir, e);
  });
  return StoreLock.acquire(fs, dir);
}

/** What recovery hands the engine: the database file open, the cache and the tombstones rebuilt. */
export interface RecoveredStore extends RecoveryResult {
  cache: SessionCache;
  /** The options' clock under a floor: never below a time the files or the tombstone file hold. */
  clock: MonotonicClock;
  /** The tombstones of the file and of the logs' TOMBSTONE records, carried forward. */
  carried: Tombstones;
}

/** Recovers the store in a locked directory (recovery.ts); closes the database file if it fails after opening it. */
export async function recoverStore(options: EngineOptions): Promise<RecoveredStore> {
  const cache = new SessionCache(options.encryption);
  const clock = new MonotonicClock(options.clock);
  const saved = await readTombstones(options);
  clock.raise(saved?.savedAtMs ?? 0);
  const recordBytesMax = options.sessionBytesMax + RECORD_OVERHEAD_BYTES + 1024;
  const r = await recover(
    {
      database: options.database,
      fs: options.fs,
      dir: options.dir,
      salvage: options.salvage,
      recordBytesMax,
      flushBatchBytesMax: options.flushBatchBytesMax,
      now: () => clock.now(),
      logger: options.logger,
      encryption: options.encryption,
      principal: options.principal,
      cacheBytesMax: options.cacheBytesMax,
      backgroundFold: true,
    },
    cache.visible,
    cache.cold,
    (id) => cache.unpack(id),
  );
  cache.rebuildPrincipals(); // loaded and cold sessions alike
  // Invariant: the next LSN is above every LSN the database file holds.
  assert(r.nextLsn > r.db.appliedLsn && r.nextLsn > r.db.maxImageLsn, `next lsn ${r.nextLsn} not above the database's (${r.db.appliedLsn}, ${r.db.maxImageLsn})`);
  clock.raise(r.newestTimeMs);
  cache.appliedLsn = r.nextLsn - 1;
  const carried = await carryTombstones(options, clock.now(), saved, r.tombstones, cache).catch(async (e: unknown) => {
    await r.db.close().catch(() => undefined);
    throw e;
  });
  return { ...r, cache, clock, carried };
}
