import { join } from 'node:path';
import { LOG_FILE_NAMES, RecordType } from '../format/constants.js';
import type { FileSystem } from '../fs/file-system.js';
import { readLog } from '../log/log-reader.js';
import { payloadId } from '../session/session-payload.js';

/**
 * Which damaged images the logs can redo (docs/format.md §4, "Redo of damaged images").
 * A log is kept until the database file's copy of its changes reads back (write-sessions.ts),
 * so a session whose image was damaged later may still have its records there. A session
 * is redoable when the logs hold a PUT of it (the whole session) at or below the damaged
 * image's lsn, and a record of it at exactly that lsn: the records vouch for both the id
 * and the lsn read from the damaged head, which its crc no longer does. Reads the logs
 * once, only when the census found damage.
 */
export async function redoableSessions(
  fs: FileSystem,
  dir: string,
  recordBytesMax: number,
  damaged: ReadonlyArray<{ id: string; lsn: number }>,
): Promise<string[]> {
  const want = new Map(damaged.map((d) => [d.id, d.lsn]));
  const putAtOrBelow = new Set<string>();
  const exact = new Set<string>();
  for (const name of LOG_FILE_NAMES) {
    // Damage in the logs is recovery's to judge: here it only means fewer records vouch.
    await readLog(fs, join(dir, name), { salvage: true, recordBytesMax }, (rec) => {
      // The id leads every payload of every layout, in clear: no key needed to find it.
      const id = payloadId(rec.data);
      if (id === undefined) return;
      const lsn = want.get(id);
      if (lsn === undefined) return;
      if (rec.type === RecordType.PUT && rec.lsn <= lsn) putAtOrBelow.add(id);
      if (rec.lsn === lsn) exact.add(id);
    }).catch(() => undefined);
  }
  return [...want.keys()].filter((id) => putAtOrBelow.has(id) && exact.has(id));
}
