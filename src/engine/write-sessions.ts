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
  // The loop over the ids is a synchronous method (Pending.addFrom), optimized once; inside
  // this async function V8 compiled it again and again (db/batch-writer.ts).
  const b = new Pending(db, lookup, encryption);
  let rewritten = 0;
  const it = ids[Symbol.iterator]();
  try {
    let next = it.next();
    while (next.done !== true) {
      if (slice?.due() === true) await slice.next();
      const rest = b.addFrom(next.value, it, batchBytesMax, slice);
      if (b.bytes >= batchBytesMax) {
        await beforeBatch();
        await db.writeBatch({ puts: b.puts, deletes: b.deletes, appliedLsn: db.appliedLsn }, slice);
        rewritten += await verifyBatch(db, b.puts, slice);
        b.clear();
      }
      next = rest ?? it.next();
    }
  } finally {
    it.return?.();
  }
  if (b.puts.length > 0 || b.deletes.length > 0 || appliedLsn > db.appliedLsn) {
    await beforeBatch();
    await db.writeBatch({ puts: b.puts, deletes: b.deletes, appliedLsn: Math.max(appliedLsn, db.appliedLsn) }, slice);
    rewritten += await verifyBatch(db, b.puts, slice);
  }
  return { written: b.written, freed: b.freed, rewritten };
}

/** The batch being gathered: each id's image encoded, or the id to free. */
class Pending {
  puts: Put[] = [];
  deletes: string[] = [];
  bytes = 0;
  written = 0;
  freed = 0;

  constructor(
    private readonly db: SessionDatabase,
    private readonly lookup: (id: string) => SessionToWrite,
    private readonly encryption: Encryption | undefined,
  ) {}

  /**
   * Adds `first`, then the ids after it, until the batch is full (resolves undefined: the
   * caller writes it, then takes the next id) or `slice` is due before an id (resolves that
   * id, not added yet) or the ids end (resolves their end).
   */
  addFrom(first: string, it: Iterator<string>, batchBytesMax: number, slice: LoopSlice | undefined): IteratorResult<string> | undefined {
    for (let id = first; ; ) {
      this.add(id);
      if (this.bytes >= batchBytesMax) return undefined;
      const next = it.next();
      if (next.done === true || slice?.due() === true) return next;
      id = next.value;
    }
  }

  clear(): void {
    this.puts = [];
    this.deletes = [];
    this.bytes = 0;
  }

  private add(id: string): void {
    const s = this.lookup(id);
    if (s !== undefined) {
      const data = 'data' in s ? s.data : encodePut(s, this.encryption);
      this.puts.push({ id, lsn: s.lsn, data });
      this.bytes += data.length;
      this.written++;
    } else if (this.db.has(id)) {
      this.deletes.push(id);
      this.freed++;
    }
  }
}

/**
 * Reads the batch's images back. One that does not check out is written again, copy on
 * write to fresh blocks, and read back again; a second mismatch is SESSIOND_DB_CORRUPT
 * (the caller turns the store read-only and keeps its logs). Returns how many were rewritten.
 */
async function verifyBatch(db: SessionDatabase, puts: readonly Put[], slice: LoopSlice | undefined): Promise<number> {
  if (db.readBack === undefined || puts.length === 0) return 0;
  const bad = await db.readBack(puts.map((p) => p.id), slice);
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
