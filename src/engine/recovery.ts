import { join } from 'node:path';
import { assert } from '../assert.js';
import { DB_FILE_NAME, LOG_FILE_NAMES, LOG_HEADER_BYTES, RECORD_OVERHEAD_BYTES } from '../format/constants.js';
import { SessiondError, isSessiondError } from '../errors.js';
import type { FileSystem } from '../fs/file-system.js';
import type { DbScanReport } from '../db/db-types.js';
import type { SessionDatabase, SessionDatabaseFactory } from './session-database.js';
import type { LogHeader } from '../log/log-header.js';
import { readLog, readLogHeader, type LogReadResult } from '../log/log-reader.js';
import { LsnChain, type LsnGap } from '../log/lsn-chain.js';
import type { LogRecord } from '../log/record-codec.js';
import { decodeImageState } from '../session/session-decoder.js';
import { summarizeImage } from '../session/image-summary.js';
import type { ColdSessions } from './cold-sessions.js';
import type { LoadedSessions } from './loaded-sessions.js';
import { writeSessions, type SessionToWrite } from './write-sessions.js';
import { redoableSessions } from './redoable-sessions.js';
import { isExpired, type SessionState } from '../session/session-state.js';
import type { Logger, PrincipalOption } from '../options.js';
import { PAYLOAD_LAYOUT_V2, PAYLOAD_LAYOUT_V3 } from '../format/constants.js';
import type { Encryption } from '../session/attr-seal.js';
import { withComputedPrincipal } from './v2-migration.js';
import { Replayer, loadDeferred } from './log-replayer.js';
import { deferFold, type DeferredFold, type ReadLog } from './background-fold.js';
import { gapError, lsnDetail, wrapCorrupt } from './recovery-errors.js';

/**
 * Recovery (SPEC E7, claims 1d, 11, 12): rebuild the cache from the database file and the
 * logs, then fold the logs into the file. The caller holds the store lock, so requests wait.
 * Every step is idempotent: a crash anywhere in here leaves files the next run handles alike
 * (records at or below the file's appliedLsn are never replayed twice).
 */

export interface RecoveryReport {
  sessionsRecovered: number;
  recordsReplayed: number;
  /** Records already folded into the database file, or older than the session's state. */
  recordsSkipped: number;
  sessionsExpired: number;
  /** Torn tails plus salvaged damage. */
  bytesDiscarded: number;
  /** Damage that lost data (open refused unless salvage): what was dropped. */
  corruption: Array<{ file: string; offset: number; bytes: number; detail?: string }>;
  /** Damage that lost nothing: in records the database already holds (a folded log). */
  warnings: Array<{ file: string; offset: number; bytes: number; detail: string }>;
  /** Damage mended from a redundant copy. */
  repaired: Array<{ file: string; offset: number; bytes: number; detail: string }>;
  /** Sessions that salvage dropped because their only copy was damaged (when their ids are known). */
  sessionsDropped: string[];
  db: DbScanReport;
  logs: Array<{ file: string; generation: number | undefined; records: number; tornBytes: number }>;
  ms: number;
}

export interface RecoveryResult {
  report: RecoveryReport;
  db: SessionDatabase;
  /** First LSN the log writer may hand out. */
  nextLsn: number;
  /** Highest log generation seen. */
  generation: number;
  /** id → destroyedAtMs of every TOMBSTONE record in the logs (the latest per ID). */
  tombstones: Map<string, number>;
  /** Newest time found in the files: the engine's clock never goes below it (clock floor). */
  newestTimeMs: number;
  /** Set when the fold of the replayed sessions is left to the flusher (background-fold.ts). */
  fold?: DeferredFold;
}

export interface RecoveryOptions {
  database: SessionDatabaseFactory;
  fs: FileSystem;
  dir: string;
  salvage: boolean;
  recordBytesMax: number;
  flushBatchBytesMax: number;
  now: () => number;
  logger: Logger;
  /** Opens sealed attributes (docs/format.md §3.7) and seals the images recovery writes. */
  encryption?: Encryption;
  /** Gives v2 sessions their principal (format.md §4, migration). */
  principal?: PrincipalOption;
  /**
   * 0: no v3 image is decoded: each payload is packed into the cold sessions' arena and decoded
   * on first access (a log record of it decodes it now). Otherwise images are decoded while
   * the loaded states count less than this, and the rest stay on disk, summarized in `cold`
   * (docs/memory.md); log records of such a session load it once the logs are read.
   * v2 images are always decoded: their principal is computed from the attributes (migration).
   */
  cacheBytesMax: number;
  /** Leave the fold of the replayed sessions to the flusher when the logs allow (background-fold.ts). */
  backgroundFold?: boolean;
}

export async function recover(opts: RecoveryOptions, sessions: LoadedSessions, cold?: ColdSessions, unpack?: (id: string) => SessionState | undefined): Promise<RecoveryResult> {
  const started = opts.now();
  const { fs, dir } = opts;
  const dbPath = join(dir, DB_FILE_NAME);
  const redoable = (damaged: ReadonlyArray<{ id: string; lsn: number }>): Promise<string[]> => redoableSessions(fs, dir, opts.recordBytesMax, damaged);
  const bounded = opts.cacheBytesMax > 0 ? cold : undefined;
  const migrated = new Set<string>();
  const db = await opts.database.open({ fs, dir, salvage: opts.salvage, redoable }, (img) => {
    try {
      const layout = img.layout ?? PAYLOAD_LAYOUT_V3;
      if (layout === PAYLOAD_LAYOUT_V3 && cold !== undefined && (bounded === undefined || sessions.bytes >= opts.cacheBytesMax)) {
        // Summarized without decoding the attributes (no string is made, no seal opened):
        // packed when there is no bound, on disk only when the bound is reached.
        if (sessions.size > 0) sessions.delete(img.id); // an older copy found earlier in the file (no lookup while none is loaded)
        migrated.delete(img.id); // a later copy of it won the scan
        cold.set(img.id, summarizeImage(img.data, img.id, img.lsn, opts.encryption), bounded === undefined ? img.data : undefined);
      } else {
        // A v2 image has no principal field: decoded to compute it, and written again as v3.
        cold?.delete(img.id);
        const s = decodeImageState(img.data, img.id, img.lsn, layout, opts.encryption);
        if (layout === PAYLOAD_LAYOUT_V2) migrated.add(img.id);
        else migrated.delete(img.id); // a later copy of it won the scan
        sessions.set(img.id, layout === PAYLOAD_LAYOUT_V2 ? withComputedPrincipal(s, opts.principal, opts.logger) : s);
      }
    } catch (e) {
      if (isSessiondError(e, 'SESSIOND_KEY_MISSING')) throw e;
      throw new SessiondError('SESSIOND_DB_CORRUPT', `${dbPath} at byte ${img.offset}: ${(e as Error).message}`, { file: dbPath, offset: img.offset }, { cause: e });
    }
  });

  try {
    return await replayAndFold(opts, sessions, db, started, migrated, cold, unpack);
  } catch (e) {
    // A refused open (corruption, I/O) must not leave the database file's handle behind.
    await db.close().catch(() => undefined);
    throw e;
  }
}

async function replayAndFold(
  opts: RecoveryOptions,
  sessions: Map<string, SessionState>,
  db: SessionDatabase,
  started: number,
  migrated: ReadonlySet<string>,
  cold: ColdSessions | undefined,
  unpack: ((id: string) => SessionState | undefined) | undefined,
): Promise<RecoveryResult> {
  const { fs, dir } = opts;
  const readOpts = { salvage: opts.salvage, recordBytesMax: opts.recordBytesMax, appliedLsn: db.appliedLsn };
  const logs: Array<{ path: string; header: LogHeader | undefined }> = [];
  for (const name of LOG_FILE_NAMES) {
    const path = join(dir, name);
    logs.push({ path, header: await readLogHeader(fs, path, readOpts) });
  }
  logs.sort((a, b) => (a.header?.generation ?? -1) - (b.header?.generation ?? -1));

  const redo = db.scanReport.redo ?? [];
  const replayer = new Replayer(sessions, db.appliedLsn, new Set(redo), opts, cold, unpack, cold !== undefined && opts.cacheBytesMax === 0);
  // v2 images are written again as v3 in step 4 (format.md §4, migration).
  for (const id of migrated) if (sessions.has(id)) replayer.touched.add(id);
  const results: LogReadResult[] = [];
  const read: ReadLog[] = [];
  const dropped: RecoveryReport['corruption'] = [];
  const chain = new LsnChain(db.appliedLsn);
  const onGap = (g: LsnGap | undefined): void => {
    if (g === undefined) return;
    if (!opts.salvage) throw gapError(g);
    dropped.push({ file: g.file, offset: g.offset, bytes: g.bytes, detail: `records ${g.fromLsn}..${g.toLsn} missing` });
    opts.logger.warn('recovery_records_missing', { ...g });
  };
  for (const log of logs) {
    if (log.header !== undefined) onGap(chain.logStarts(log.path, log.header.firstLsn));
    const layout = log.header?.formatVersion === 2 ? PAYLOAD_LAYOUT_V2 : PAYLOAD_LAYOUT_V3;
    const onRecord = (rec: LogRecord, offset: number): void => {
      onGap(chain.record(log.path, rec.lsn));
      try {
        replayer.apply(rec, layout);
      } catch (e) {
        // A missing key is configuration, not damage: salvage never drops what it would open.
        if (!opts.salvage || isSessiondError(e, 'SESSIOND_KEY_MISSING')) throw wrapCorrupt(e, log.path, offset);
        // salvage: a record whose payload does not decode is dropped and reported
        const bytes = rec.data.length + RECORD_OVERHEAD_BYTES;
        dropped.push({ file: log.path, offset, bytes });
        opts.logger.warn('recovery_record_dropped', { file: log.path, offset, bytes });
      }
    };
    const r = await readLog(fs, log.path, readOpts, onRecord);
    results.push(r);
    read.push({ result: r, touchedAfter: replayer.touched.size });
    if (r.fileBytes > 0) chain.logEnds(r.path, r.endOffset, r.fileBytes - r.endOffset);
  }

  if (cold !== undefined) await loadDeferred(db, sessions, cold, replayer.deferred, opts.encryption, replayer.migrate);

  // Damage the logs redid is repaired; what remains is there only with salvage (else the open refused).
  const redone = redo.filter((id) => replayer.touched.has(id));
  const rawDamage = db.scanReport.damage;
  const dbDamage = rawDamage === undefined || redone.length >= rawDamage.sessionsMissing ? undefined : { ...rawDamage, sessionsMissing: rawDamage.sessionsMissing - redone.length, sessions: rawDamage.sessions.filter((id) => !redone.includes(id)) };
  if (dbDamage !== undefined) opts.logger.warn('recovery_sessions_dropped', { file: join(dir, DB_FILE_NAME), ...dbDamage, sessions: dbDamage.sessions.join(',') });
  // Clock floor: a wall clock stepped back since the crash must not revive what had expired.
  let newestTimeMs = replayer.newestTimeMs;
  for (const r of results) newestTimeMs = Math.max(newestTimeMs, r.header?.createdAtMs ?? 0);
  for (const s of sessions.values()) newestTimeMs = Math.max(newestTimeMs, s.lastAccessAtMs);
  newestTimeMs = Math.max(newestTimeMs, cold?.lastAccessMaxMs ?? 0);
  const now = Math.max(opts.now(), newestTimeMs);
  let expired = 0;
  for (const [id, s] of sessions) {
    if (isExpired(s, now)) {
      sessions.delete(id);
      replayer.touched.add(id);
      expired++;
    }
  }
  if (cold !== undefined) {
    const gone: string[] = [];
    cold.forEach((id, expiryMs) => {
      if (expiryMs <= now) gone.push(id);
    });
    for (const id of gone) {
      cold.delete(id);
      replayer.touched.add(id);
    }
    expired += gone.length;
  }

  const generation = Math.max(0, ...results.map((r) => r.header?.generation ?? 0));
  const nextLsn = Math.max(db.appliedLsn, db.maxImageLsn, replayer.maxLsn) + 1;
  // Claim 11c: the replayed sessions go into the database file before the logs are reset.
  // The header then says every LSN below nextLsn is folded, so the new logs (firstLsn =
  // nextLsn) continue the database without a gap (lsn-chain.ts).
  const lookup = (id: string): SessionToWrite => {
    const s = sessions.get(id);
    if (s !== undefined) return s;
    const p = cold?.packed(id); // a log PUT packed as it was logged
    if (p !== undefined) return { lsn: p.lsn, data: Buffer.from(p.data) };
    // Invariant: every session a record touched is loaded (loadDeferred), packed or gone.
    assert(cold?.has(id) !== true, `recovery would write ${id} while it is on disk only`);
    return undefined;
  };
  const undamaged = redo.length === 0 && rawDamage === undefined && dropped.length === 0;
  const fold = opts.backgroundFold === true && undamaged ? await deferFold(db, read, replayer.touched, lookup, nextLsn, opts.flushBatchBytesMax, opts.encryption) : undefined;
  if (fold === undefined) await writeSessions(db, replayer.touched, lookup, nextLsn - 1, opts.flushBatchBytesMax, undefined, opts.encryption);

  const corruption = [...results.flatMap((r) => r.corruption.map((c) => ({ file: r.path, ...lsnDetail(c) }))), ...dropped];
  if (dbDamage !== undefined) corruption.push({ file: join(dir, DB_FILE_NAME), offset: dbDamage.offset, bytes: dbDamage.bytes, detail: dbDamage.detail });
  const warnings = results.flatMap((r) =>
    r.folded.map((c) => ({ file: r.path, ...lsnDetail(c), detail: `damaged records ${c.fromLsn}..${c.toLsn} were already in the database` })),
  );
  const repaired = results
    .filter((r) => r.headerRepaired)
    .map((r) => ({ file: r.path, offset: 0, bytes: LOG_HEADER_BYTES, detail: 'damaged header rebuilt from the salt and generation its records vouch for' }));
  if (rawDamage !== undefined && redone.length > 0) {
    repaired.push({ file: join(dir, DB_FILE_NAME), offset: rawDamage.offset, bytes: rawDamage.bytes, detail: `damaged images of ${redone.join(', ')} redone from the logs` });
  }
  for (const w of warnings) opts.logger.warn('recovery_folded_damage', { ...w });
  for (const w of repaired) opts.logger.warn('recovery_repaired', { ...w });
  const report: RecoveryReport = {
    sessionsRecovered: sessions.size + (cold?.size ?? 0),
    recordsReplayed: replayer.replayed,
    recordsSkipped: replayer.skipped,
    sessionsExpired: expired,
    bytesDiscarded:
      results.reduce((n, r) => n + r.tornBytes, 0) + corruption.reduce((n, c) => n + c.bytes, 0) + warnings.reduce((n, c) => n + c.bytes, 0),
    corruption,
    warnings,
    repaired,
    sessionsDropped: dbDamage?.sessions ?? [],
    db: db.scanReport,
    logs: results.map((r) => ({ file: r.path, generation: r.header?.generation, records: r.records, tornBytes: r.tornBytes })),
    ms: opts.now() - started,
  };
  return { report, db, nextLsn, generation, tombstones: replayer.tombstones, newestTimeMs, ...(fold === undefined ? {} : { fold }) };
}
