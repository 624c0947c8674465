import { assert } from '../assert.js';
import { RecordType, PAYLOAD_LAYOUT_V2, PAYLOAD_LAYOUT_V3, type PayloadLayout } from '../format/constants.js';
import type { LogRecord } from '../log/record-codec.js';
import { putPayloadId, type PatchPayload, type TouchPayload } from '../session/session-payload.js';
import { decodeImageState, decodePayload } from '../session/session-decoder.js';
import { summarizeImage } from '../session/image-summary.js';
import { applyPatch, attributesFromBlob, decodeNames } from '../session/attributes.js';
import { makeState, type SessionState } from '../session/session-state.js';
import type { Logger, PrincipalOption } from '../options.js';
import type { Encryption } from '../session/attr-seal.js';
import type { SessionDatabase } from './session-database.js';
import type { ColdSessions } from './cold-sessions.js';
import { withComputedPrincipal } from './v2-migration.js';
import { tryDecode } from './recovery-errors.js';

/**
 * The log replay of recovery (recovery.ts): the records of the logs applied to the cache,
 * oldest first, by the replay rules of docs/format.md §4; the records of sessions left on
 * disk (cold) are kept and applied once their image is loaded (loadDeferred).
 */

/** What the replay needs of the recovery options. */
export interface ReplayOptions {
  /** Opens sealed attributes (docs/format.md §3.7). */
  encryption?: Encryption;
  /** Gives v2 sessions their principal (format.md §4, migration). */
  principal?: PrincipalOption;
  logger: Logger;
}

/** A PATCH or TOUCH of a cold session, applied once its image is loaded (removed names decoded). */
type Deferred = { lsn: number; p: PatchPayload | TouchPayload; removed: string[] };

/**
 * A PATCH or TOUCH folded into the state it applies to. A v3 PATCH carries the principal
 * after it; a v2 PATCH (principal undefined) gets the one the option computes (`migrate`).
 */
function fold(cur: SessionState, p: PatchPayload | TouchPayload, lsn: number, removed: readonly string[], migrate: (s: SessionState) => SessionState): SessionState {
  const id = cur.id;
  if (p.type === RecordType.TOUCH) return makeState(id, p.version, lsn, cur.createdAtMs, p.lastAccessAtMs, p.expiresAtMs, cur.maxInactiveMs, cur.owner, cur.attrs, cur.principal);
  const s = makeState(id, p.version, lsn, cur.createdAtMs, p.lastAccessAtMs, p.expiresAtMs, p.maxInactiveMs, cur.owner, applyPatch(cur.attrs, p.set, removed), p.principal ?? '');
  return p.principal === undefined ? migrate(s) : s;
}

/** Applies log records to the cache by the replay rules of docs/format.md §4. */
export class Replayer {
  replayed = 0;
  skipped = 0;
  maxLsn = 0;
  readonly touched = new Set<string>();
  readonly tombstones = new Map<string, number>();
  newestTimeMs = 0;
  /** Records of cold sessions, in LSN order per session, applied once the logs are read. */
  readonly deferred = new Map<string, Deferred[]>();

  constructor(
    private readonly sessions: Map<string, SessionState>,
    private readonly appliedLsn: number,
    /** Sessions whose image is damaged: their records are replayed even at or below appliedLsn (format.md §4). */
    private readonly redo: ReadonlySet<string> = new Set(),
    private readonly opts: ReplayOptions = { logger: { info() {}, warn() {}, error() {} } },
    private readonly cold?: ColdSessions,
    /** Decodes a packed cold session into `sessions` (SessionCache.unpack). */
    private readonly unpack: (id: string) => SessionState | undefined = () => undefined,
    /** Pack v3 PUT records into the cold sessions' arena without decoding them (no cache bound). */
    private readonly packPuts = false,
  ) {}

  /** `layout`: the payload layout of the record's log (v2 logs, format.md §3.8). */
  apply(rec: LogRecord, layout: PayloadLayout = PAYLOAD_LAYOUT_V3): void {
    // Invariant: the logs, read oldest generation first, hold strictly growing LSNs.
    assert(rec.lsn > this.maxLsn, `replayed lsn ${rec.lsn} after ${this.maxLsn}`);
    this.maxLsn = rec.lsn;
    if (rec.type === RecordType.TOMBSTONE) this.tombstone(rec);
    if (rec.lsn <= this.appliedLsn && this.redo.size === 0) {
      this.skipped++;
      return;
    }
    const folded = rec.lsn <= this.appliedLsn;
    if (this.packPuts && !folded && rec.type === RecordType.PUT && layout === PAYLOAD_LAYOUT_V3) {
      this.packPut(rec);
      return;
    }
    const p = folded ? tryDecode(rec, layout, this.opts.encryption) : decodePayload(rec.type, rec.data, layout, this.opts.encryption);
    const id = p === undefined ? undefined : p.type === RecordType.PUT ? p.state.id : p.id;
    if (p === undefined || id === undefined || (folded && !this.redo.has(id))) {
      this.skipped++;
      return;
    }
    const cur = this.sessions.get(id);
    const coldLsn = cur === undefined ? this.cold?.lsnOf(id) : undefined;
    const curLsn = cur?.lsn ?? coldLsn;
    if (curLsn !== undefined && rec.lsn <= curLsn) {
      this.skipped++;
      return;
    }
    switch (p.type) {
      case RecordType.PUT: {
        const s = { ...p.state, lsn: rec.lsn };
        this.sessions.set(id, layout === PAYLOAD_LAYOUT_V2 ? this.migrate(s) : s);
        this.forgetCold(id);
        break;
      }
      case RecordType.DELETE:
      case RecordType.TOMBSTONE:
        this.sessions.delete(id);
        this.forgetCold(id);
        break;
      case RecordType.PATCH:
      case RecordType.TOUCH: {
        // No base: the session was deleted or expired later; its records are moot.
        if (cur === undefined && coldLsn === undefined) {
          this.skipped++;
          return;
        }
        this.newestTimeMs = Math.max(this.newestTimeMs, p.lastAccessAtMs);
        const removed = p.type === RecordType.PATCH ? decodeNames(p.removed) : [];
        const base = cur ?? this.unpack(id);
        if (base === undefined) {
          // A cold base: load it once the logs are read. Decode what fold() will, so a corrupt record fails here, at its offset.
          if (p.type === RecordType.PATCH) attributesFromBlob(p.set);
          const list = this.deferred.get(id);
          if (list === undefined) this.deferred.set(id, [{ lsn: rec.lsn, p, removed }]);
          else list.push({ lsn: rec.lsn, p, removed });
          break;
        }
        this.sessions.set(id, fold(base, p, rec.lsn, removed, this.migrate));
        break;
      }
    }
    this.touched.add(id);
    this.replayed++;
  }

  /**
   * A PUT replaces the session whole: its payload is an image (format.md §3.1), so it is
   * summarized and packed like one found in the database file, and decoded on first access.
   * The summary checks what a decode would (a corrupt record fails here, at its offset).
   */
  private packPut(rec: LogRecord): void {
    const id = putPayloadId(rec.data);
    const cur = this.sessions.get(id);
    const curLsn = cur?.lsn ?? this.cold!.lsnOf(id);
    if (curLsn !== undefined && rec.lsn <= curLsn) {
      this.skipped++;
      return;
    }
    this.cold!.set(id, summarizeImage(rec.data, id, rec.lsn, this.opts.encryption), rec.data);
    if (cur !== undefined) this.sessions.delete(id);
    this.deferred.delete(id);
    this.touched.add(id);
    this.replayed++;
  }

  /** A v2 session's principal, computed by the option (format.md §4, migration). */
  readonly migrate = (s: SessionState): SessionState => withComputedPrincipal(s, this.opts.principal, this.opts.logger);

  /** A PUT or a delete replaces whatever the database file holds of `id`. */
  private forgetCold(id: string): void {
    if (this.cold === undefined) return;
    this.cold.delete(id);
    this.deferred.delete(id);
  }

  /** A destroy's tombstone outlives the database's copy of the delete: read it even when the record is folded. */
  private tombstone(rec: LogRecord): void {
    const p = decodePayload(rec.type, rec.data);
    if (p.type !== RecordType.TOMBSTONE) return;
    this.tombstones.delete(p.id); // the latest last: oldest first
    this.tombstones.set(p.id, p.destroyedAtMs);
    this.newestTimeMs = Math.max(this.newestTimeMs, p.destroyedAtMs);
  }
}

/**
 * Loads the cold sessions the logs changed (one positioned read each, no scan) and applies
 * their records in LSN order: recovery then writes them back like any replayed session.
 */
export async function loadDeferred(
  db: SessionDatabase,
  sessions: Map<string, SessionState>,
  cold: ColdSessions,
  deferred: ReadonlyMap<string, Deferred[]>,
  encryption: Encryption | undefined,
  migrate: (s: SessionState) => SessionState,
): Promise<void> {
  for (const [id, recs] of deferred) {
    // Invariant: a session with deferred records is still cold (a PUT or delete drops them).
    assert(cold.has(id) && db.readImage !== undefined, `deferred records of ${id}, which is not cold`);
    const img = await db.readImage(id);
    assert(img !== undefined && img.lsn === cold.lsnOf(id), `cold session ${id} has no image at its lsn`);
    // A cold session's image is v3 (recovery decodes v2 images): opened with the keys.
    let cur = decodeImageState(img.data, id, img.lsn, PAYLOAD_LAYOUT_V3, encryption);
    for (const d of recs) cur = fold(cur, d.p, d.lsn, d.removed, migrate);
    cold.delete(id);
    sessions.set(id, cur);
  }
}
