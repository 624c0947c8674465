/**
 * The forward scan after a bad record (docs/format.md §1.3 steps 1-2): finds the next valid
 * record of the generation and whether any later valid record vouches (via syncedBytes)
 * that the bad offset had already been made durable.
 */

import { RECORD_START_MAGIC } from '../format/constants.js';
import type { LogHeader } from './log-header.js';
import { decodeRecord } from './record-codec.js';

export interface Resync {
  /** File offset of the first valid record after the bad one (meaningful when vouched). */
  next: number;
  /** LSN of the record at `next`. */
  nextLsn: number;
  /** A later valid record has syncedBytes > the bad offset: the damage is corruption. */
  vouched: boolean;
}

const START_MAGIC_BYTES = Buffer.alloc(4);
START_MAGIC_BYTES.writeUInt32LE(RECORD_START_MAGIC);

/**
 * `view` holds the file from offset `base` to its end. Only offsets where the start magic
 * occurs can begin a record, so the byte-by-byte scan jumps between them with a native
 * search; a valid record is skipped whole (a record inside another's data would need the
 * salt to forge).
 */
export function findResync(
  view: Uint8Array,
  base: number,
  bad: number,
  header: LogHeader,
  prevLsn: number,
  recordBytesMax: number,
): Resync {
  const hay = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  let next = -1;
  let nextLsn = 0;
  let i = bad - base + 1;
  while ((i = hay.indexOf(START_MAGIC_BYTES, i)) !== -1) {
    const r = decodeRecord(view, i, header.salt, header.generation, recordBytesMax);
    if (!r.ok || r.record.lsn <= prevLsn) {
      i++;
      continue;
    }
    if (next < 0) {
      next = base + i;
      nextLsn = r.record.lsn;
    }
    if (r.record.syncedBytes > bad) return { next, nextLsn, vouched: true };
    i += r.bytes;
  }
  return { next, nextLsn, vouched: false };
}
