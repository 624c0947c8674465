import type { SessionDatabase } from './session-database.js';
import { encodePut } from '../session/session-codec.js';
import type { SessionState } from '../session/session-state.js';

/**
 * Writes the current state of `ids` into the database file in batches of at most
 * `batchBytesMax` image bytes: live sessions as new images, absent ones freed. Only the
 * last batch advances the header's appliedLsn to `appliedLsn`, because only then does the
 * file hold every change up to it. Used by the flusher and by recovery. `beforeBatch` runs
 * before each batch is written (the flusher makes the log durable there, see flusher.ts).
 */
export async function writeSessions(
  db: SessionDatabase,
  ids: Iterable<string>,
  lookup: (id: string) => SessionState | undefined,
  appliedLsn: number,
  batchBytesMax: number,
  beforeBatch: () => Promise<void> = () => Promise.resolve(),
): Promise<{ written: number; freed: number }> {
  let puts: Array<{ id: string; lsn: number; data: Uint8Array }> = [];
  let deletes: string[] = [];
  let bytes = 0;
  let written = 0;
  let freed = 0;
  for (const id of ids) {
    const s = lookup(id);
    if (s !== undefined) {
      const data = encodePut(s);
      puts.push({ id, lsn: s.lsn, data });
      bytes += data.length;
      written++;
    } else if (db.has(id)) {
      deletes.push(id);
      freed++;
    }
    if (bytes >= batchBytesMax) {
      await beforeBatch();
      await db.writeBatch({ puts, deletes, appliedLsn: db.appliedLsn });
      puts = [];
      deletes = [];
      bytes = 0;
    }
  }
  if (puts.length > 0 || deletes.length > 0 || appliedLsn > db.appliedLsn) {
    await beforeBatch();
    await db.writeBatch({ puts, deletes, appliedLsn: Math.max(appliedLsn, db.appliedLsn) });
  }
  return { written, freed };
}
