import { join } from 'node:path';
import { DB_FILE_NAME, LOG_FILE_NAMES, RECORD_OVERHEAD_BYTES } from '../format/constants.js';
import type { FileSystem } from '../fs/file-system.js';
import { readLog } from '../log/log-reader.js';
import { verifyDatabaseFile } from '../db/verify-database.js';
import { decodeImageState, decodePayload } from '../session/session-codec.js';
import { isSessiondError } from '../errors.js';

/** A read-only check of a store directory (`sessiond verify`): changes nothing. */
export interface VerifyReport {
  ok: boolean;
  logs: Array<{ file: string; generation: number | undefined; records: number; tornBytes: number; problems: string[] }>;
  database: { file: string; images: number; problems: string[] };
}

const RECORD_BYTES_MAX = 64 * 1024 * 1024 + RECORD_OVERHEAD_BYTES + 1024;

export async function verifyStore(fs: FileSystem, dir: string): Promise<VerifyReport> {
  const logs: VerifyReport['logs'] = [];
  for (const name of LOG_FILE_NAMES) {
    const file = join(dir, name);
    const problems: string[] = [];
    try {
      const r = await readLog(fs, file, { salvage: true, recordBytesMax: RECORD_BYTES_MAX }, (rec, offset) => {
        try {
          decodePayload(rec.type, rec.data);
        } catch (e) {
          problems.push(`record at byte ${offset}: ${(e as Error).message}`);
        }
      });
      for (const c of r.corruption) problems.push(`damaged bytes at ${c.offset} (${c.bytes} bytes) after acknowledged records`);
      logs.push({ file, generation: r.header?.generation, records: r.records, tornBytes: r.tornBytes, problems });
    } catch (e) {
      logs.push({ file, generation: undefined, records: 0, tornBytes: 0, problems: [isSessiondError(e) ? `${e.code}: ${e.message}` : String(e)] });
    }
  }
  const dbFile = join(dir, DB_FILE_NAME);
  const v = await verifyDatabaseFile(fs, dbFile, {
    checkImage: (img) => {
      try {
        decodeImageState(img.data, img.id, img.lsn);
        return undefined;
      } catch (e) {
        return (e as Error).message;
      }
    },
  });
  const database = { file: dbFile, images: v.images, problems: v.problems.map((p) => `${p.kind} at byte ${p.offset}: ${p.detail}`) };
  const ok = database.problems.length === 0 && logs.every((l) => l.problems.length === 0);
  return { ok, logs, database };
}
