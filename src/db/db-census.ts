/**
 * The open's count of live images (docs/format.md §2.4). The scan alone cannot tell a
 * damaged image from free space: a head with its magic destroyed is just another block.
 * So the header counts the sessions with a live image when it was written, and every one
 * must still have an image, except the ones a batch that a crash interrupted was freeing
 * (its interim header says how many). A torn write never removes an image that a header
 * counts; only damage does.
 */

import type { DbHeader } from './db-header.js';
import type { ScanResult } from './db-scan.js';
import type { SessionIndex } from './session-index.js';

export interface DbDamage {
  offset: number;
  bytes: number;
  /** Sessions the header counted that have no readable image (at least). */
  sessionsMissing: number;
  /** Ids read from damaged images' payloads (unverified: the crc failed). */
  sessions: string[];
  detail: string;
}

/** What the open found against what the header counted. */
export interface DbCensus {
  appliedLsn: number;
  /** Sessions the header counts, less those a batch in progress was freeing. */
  expected: number;
  /** Winning images: one per session. */
  images: number;
  fileBytes: number;
  freeOffset: number;
  suspects: Array<{ offset: number; lsn: number; id: string | undefined }>;
}

export function takeCensus(header: DbHeader, scan: ScanResult, fileBytes: number): DbCensus {
  return {
    appliedLsn: header.appliedLsn,
    expected: header.liveImages - header.freeingImages,
    images: scan.index.size,
    fileBytes,
    freeOffset: header.freeOffset,
    // A torn write of an interrupted flush has an lsn above appliedLsn; damage to a folded image does not.
    suspects: scan.badHeads.filter((h) => h.lsn <= header.appliedLsn),
  };
}

/**
 * Every session the header counted must still have a winning image, except the ones an
 * interrupted batch was freeing (already taken out of `expected`). Sessions that batch
 * created count too, so after a crash the check has that much slack (docs/durability.md).
 */
export function censusDamage(c: DbCensus): DbDamage | undefined {
  const missing = c.expected - c.images;
  if (missing <= 0) return undefined;
  const sessions = c.suspects.flatMap((h) => (h.id === undefined ? [] : [h.id]));
  const parts = [`${missing} of the ${c.expected} sessions its header counts at appliedLsn ${c.appliedLsn} have no readable image`];
  // A file shorter than freeOffset is legal (the last extent's padding may be missing); named only with a loss.
  if (c.fileBytes < c.freeOffset) parts.push(`the file ends at ${c.fileBytes}, before the header's freeOffset ${c.freeOffset}`);
  if (c.suspects.length > 0) parts.push(`damaged images at ${c.suspects.map((h) => h.offset).join(', ')}${sessions.length > 0 ? ` (sessions ${sessions.join(', ')})` : ''}`);
  const truncated = c.fileBytes < c.freeOffset && c.suspects.length === 0;
  const offset = truncated ? c.fileBytes : (c.suspects[0]?.offset ?? 0);
  const bytes = truncated ? c.freeOffset - c.fileBytes : c.suspects.length > 0 ? 512 : 0;
  return { offset, bytes, sessionsMissing: missing, sessions, detail: parts.join('; ') };
}

/** The SessiondError context of a damage. */
export function damageContext(file: string, d: DbDamage): Record<string, string | number> {
  return { file, offset: d.offset, bytes: d.bytes, sessionsMissing: d.sessionsMissing, sessions: d.sessions.join(',') };
}

/**
 * The sessions the damaged images belonged to, as far as their unverified heads say: those
 * without a winning image, each at the highest lsn seen (a redo must reach it).
 */
export function damagedImages(c: DbCensus, index: SessionIndex): Array<{ id: string; lsn: number }> {
  const out = new Map<string, number>();
  for (const h of c.suspects) if (h.id !== undefined && !index.has(h.id)) out.set(h.id, Math.max(h.lsn, out.get(h.id) ?? 0));
  return [...out].map(([id, lsn]) => ({ id, lsn }));
}
