/**
 * The open's count of live images (docs/format.md §2.4). The scan alone cannot tell a
 * damaged image from free space: a head with its magic destroyed is just another block.
 * The header therefore counts the sessions with a live image when it was written; every
 * one of them must still have an image, unless a batch that a crash interrupted freed it
 * (its freed marker carries the headerSeq of the header that batch never wrote). A file
 * shorter than the header's freeOffset has lost allocated blocks.
 */

import type { DbHeader } from './db-header.js';
import type { ScanResult } from './db-scan.js';

export interface DbDamage {
  offset: number;
  bytes: number;
  /** Sessions the header counted that have no readable image (at least). */
  sessionsMissing: number;
  /** Ids read from damaged images' payloads (unverified: the crc failed). */
  sessions: string[];
  detail: string;
}

export function checkCensus(header: DbHeader, scan: ScanResult, fileBytes: number): DbDamage | undefined {
  const truncated = fileBytes < header.freeOffset;
  const missing = header.liveImages - scan.index.size - scan.markersAfter;
  if (!truncated && missing <= 0) return undefined;
  // A torn write of an interrupted flush has an lsn above appliedLsn; damage to a folded image does not.
  const suspects = scan.badHeads.filter((h) => h.lsn <= header.appliedLsn);
  const sessions = suspects.flatMap((h) => (h.id === undefined ? [] : [h.id]));
  const parts = [];
  if (missing > 0) parts.push(`${missing} of the ${header.liveImages} sessions its header counts have no readable image`);
  if (truncated) parts.push(`the file ends at ${fileBytes}, before the header's freeOffset ${header.freeOffset}`);
  if (suspects.length > 0) parts.push(`damaged images at ${suspects.map((h) => h.offset).join(', ')}${sessions.length > 0 ? ` (sessions ${sessions.join(', ')})` : ''}`);
  const offset = truncated ? fileBytes : (suspects[0]?.offset ?? 0);
  const bytes = truncated ? header.freeOffset - fileBytes : suspects.length > 0 ? 512 : 0;
  return { offset, bytes, sessionsMissing: Math.max(missing, 0), sessions, detail: parts.join('; ') };
}
