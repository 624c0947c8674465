import type { SessionDatabase } from './session-database.js';
import { SessiondError } from '../errors.js';
import { encodePut } from '../session/session-encoder.js';
import type { SessionState } from '../session/session-state.js';
import type { Encryption } from '../session/attr-seal.js';
import type { LoopSlice } from '../util/loop-slice.js';

type Put = { id: string; lsn: number; data: Uint8Array };

/**
 * A session's image already encoded (a PUT payload) with its lsn: a session recovery packed
 * from a log PUT without decoding it (background-fold.ts), written as it was logged.
 */
export interface EncodedImage {
  readonly lsn: number;
  readonly data: Uint8Array;
}

/** What a lookup hands writeSessions: a state to encode, an encoded image, or undefined (absent: freed). */
export type SessionToWrite = SessionState | EncodedImage | undefined;

/**
 * Writes the current state of `ids` into the database file in batches of at most
 * `batchBytesMax` image bytes: live sessions as new images, absent ones freed. Only the
 * last batch advances the header's appliedLsn to `appliedLsn`, because only then does the
 * file hold every change up to it. Used by the flusher and by recovery. `beforeBatch` runs
 * before each batch is written (the flusher makes the log durable there, see flusher.ts).
 * Every batch's images are read back once durable (verifyBatch): a caller releases a log
 * only after this resolves, so a damaged image can always be redone from a log.
 * With `slice` (the flusher's) the encoding runs in slices between event-loop turns (also
 * inside db.writeBatch), so a big flush never holds the event loop for long; a session changed between two slices is
 * written with its newer state, which is allowed (an image newer than appliedLsn).
 */
export async function writeSessions(
  db: SessionDatabase,
  ids: Iterable<string>,
  lookup: (id: string) => SessionToWrite,
  appliedLsn: number,
  batchBytesMax: number,
  beforeBatch: () => Promise<void> = () => Promise.resolve(),
  encryption?: Encryption,
  slice?: LoopSlice,
): Promise<{ written: number; freed: number; rewritten: number }> {
  let puts: Put[] = [];
  let deletes: string[] = [];
  let bytes = 0;
  let written = 0;
  let freed = 0;
  let rewritten = 0;
  for (const id of ids) {
    if (slice?.due() === true) await slice.next();
    const s = lookup(id);
    if (s !== undefined) {
      const data = 'data' in s ? s.data : encodePut(s, encryption);
      puts.push({ id, lsn: s.lsn, data });
      bytes += data.length;
      written++;
    } else if (db.has(id)) {
      deletes.push(id);
      freed++;
    }
    if (bytes >= batchBytesMax) {
      await beforeBatch();
      await db.writeBatch({ puts, deletes, appliedLsn: db.appliedLsn }, slice);
      rewritten += await verifyBatch(db, puts);
      puts = [];
      deletes = [];
      bytes = 0;
    }
  }
  if (puts.length > 0 || deletes.length > 0 || appliedLsn > db.appliedLsn) {
    await beforeBatch();
    await db.writeBatch({ puts, deletes, appliedLsn: Math.max(appliedLsn, db.appliedLsn) }, slice);
    rewritten += await verifyBatch(db, puts);
  }
  return { written, freed, rewritten };
}

/**
 * Reads the batch's images back. One that does not check out is written again, copy on
 * write to fresh blocks, and read back again; a second mismatch is SESSIOND_DB_CORRUPT
 * (the caller turns the store read-only and keeps its logs). Returns how many were rewritten.
 */
async function verifyBatch(db: SessionDatabase, puts: readonly Put[]): Promise<number> {
  if (db.readBack === undefined || puts.length === 0) return 0;
  const bad = await db.readBack(puts.map((p) => p.id));
  if (bad.length === 0) return 0;
  const badIds = new Set(bad.map((b) => b.id));
  const again = puts.filter((p) => badIds.has(p.id));
  await db.writeBatch({ puts: again, deletes: [], appliedLsn: db.appliedLsn });
  const still = await db.readBack(again.map((p) => p.id));
  if (still.length > 0) {
    const b = still[0]!;
    throw new SessiondError(
      'SESSIOND_DB_CORRUPT',
      `${b.file} at byte ${b.offset}: the image of ${b.id} read back differently from what was written, twice (${b.detail})`,
      { file: b.file, offset: b.offset, sessions: still.map((s) => s.id).join(',') },
    );
  }
  return bad.length;
}
