import { join } from 'node:path';
import { DB_FILE_NAME, LOG_FILE_NAMES, RECORD_OVERHEAD_BYTES } from '../format/constants.js';
import type { FileSystem } from '../fs/file-system.js';
import { readLog, readLogHeader } from '../log/log-reader.js';
import type { LogHeader } from '../log/log-header.js';
import { LsnChain, type LsnGap } from '../log/lsn-chain.js';
import { verifyDatabaseFile } from '../db/verify-database.js';
import { decodeImageState, decodePayload } from '../session/session-decoder.js';
import { isSessiondError } from '../errors.js';
import { redoableSessions } from '../engine/redoable-sessions.js';
import { PAYLOAD_LAYOUT_V2, PAYLOAD_LAYOUT_V3 } from '../format/constants.js';
import type { Encryption } from '../session/attr-seal.js';

/**
 * Runs a payload check: its error message, or undefined. A seal under a key not given is
 * not damage: it is counted in `sealedKeys` (verify without keys checks everything but the tags).
 */
function check(fn: () => void, sealedKeys: Set<string>): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (isSessiondError(e, 'SESSIOND_KEY_MISSING')) {
      sealedKeys.add(String(e.context.keyId));
      return undefined;
    }
    return (e as Error).message;
  }
}

/**
 * A read-only check of a store directory (`sessiond verify`): changes nothing. It judges
 * the files as recovery would (docs/format.md §1.3, §2.4, §4): `problems` are damage that
 * makes the open refuse (or salvage drop data); `warnings` are damage that loses nothing
 * (in records the database already holds, or a header the records can rebuild).
 */
export interface VerifyReport {
  ok: boolean;
  logs: Array<{ file: string; generation: number | undefined; records: number; tornBytes: number; problems: string[]; warnings: string[] }>;
  /** A missing-images problem is `damaged` (refused) or, when the logs can redo it, a `repairable` warning. */
  database: { file: string; images: number; problems: string[]; warnings: string[] };
  /** Key IDs of sealed payloads that could not be opened because their key was not given (their tags are unchecked). */
  keysNotGiven: string[];
}

const RECORD_BYTES_MAX = 64 * 1024 * 1024 + RECORD_OVERHEAD_BYTES + 1024;

export async function verifyStore(fs: FileSystem, dir: string, encryption?: Encryption): Promise<VerifyReport> {
  const dbFile = join(dir, DB_FILE_NAME);
  const sealedKeys = new Set<string>();
  const v = await verifyDatabaseFile(fs, dbFile, {
    checkImage: (img) => check(() => decodeImageState(img.data, img.id, img.lsn, img.layout ?? PAYLOAD_LAYOUT_V3, encryption), sealedKeys),
  });
  const d = v.damage;
  const redo = d === undefined ? [] : await redoableSessions(fs, dir, RECORD_BYTES_MAX, d.damaged);
  const repairable = d !== undefined && redo.length >= d.sessionsMissing;
  const text = (p: { kind: string; offset: number; detail: string }): string =>
    `${p.kind} at byte ${p.offset}: ${p.kind !== 'missing-images' ? '' : repairable ? `repairable (the logs redo ${redo.join(', ')}): ` : 'damaged: '}${p.detail}`;
  const missing = (p: { kind: string }): boolean => p.kind === 'missing-images';
  const database = {
    file: dbFile,
    images: v.images,
    problems: v.problems.filter((p) => !(repairable && missing(p))).map(text),
    warnings: v.problems.filter((p) => repairable && missing(p)).map(text),
  };
  const appliedLsn = v.header?.appliedLsn ?? 0;
  const logs = await verifyLogs(fs, dir, appliedLsn, encryption, sealedKeys);
  const ok = database.problems.length === 0 && logs.every((l) => l.problems.length === 0);
  return { ok, logs, database, keysNotGiven: [...sealedKeys].sort() };
}

async function verifyLogs(fs: FileSystem, dir: string, appliedLsn: number, encryption: Encryption | undefined, sealedKeys: Set<string>): Promise<VerifyReport['logs']> {
  const opts = { salvage: true, recordBytesMax: RECORD_BYTES_MAX, appliedLsn };
  const heads: Array<{ file: string; header: LogHeader | undefined; error?: string }> = [];
  for (const name of LOG_FILE_NAMES) {
    const file = join(dir, name);
    try {
      heads.push({ file, header: await readLogHeader(fs, file, opts) });
    } catch (e) {
      heads.push({ file, header: undefined, error: isSessiondError(e) ? `${e.code}: ${e.message}` : String(e) });
    }
  }
  // Generation order, as recovery reads them: the LSN chain runs from the database through both.
  heads.sort((a, b) => (a.header?.generation ?? -1) - (b.header?.generation ?? -1));
  const chain = new LsnChain(appliedLsn);
  const out: VerifyReport['logs'] = [];
  for (const { file, header, error } of heads) {
    const problems: string[] = error === undefined ? [] : [error];
    const warnings: string[] = [];
    const gap = (g: LsnGap | undefined): void => {
      if (g !== undefined) problems.push(`records ${g.fromLsn}..${g.toLsn} missing: ${g.file} ends its valid records at offset ${g.offset} (${g.bytes} bytes follow) but ${g.vouchedBy} vouches they were durable`);
    };
    if (header !== undefined) gap(chain.logStarts(file, header.firstLsn));
    try {
      const layout = header?.formatVersion === 2 ? PAYLOAD_LAYOUT_V2 : PAYLOAD_LAYOUT_V3;
      const r = await readLog(fs, file, opts, (rec, offset) => {
        gap(chain.record(file, rec.lsn));
        const bad = check(() => decodePayload(rec.type, rec.data, layout, encryption), sealedKeys);
        if (bad !== undefined) problems.push(`record at offset ${offset}: ${bad}`);
      });
      if (r.fileBytes > 0) chain.logEnds(file, r.endOffset, r.fileBytes - r.endOffset);
      for (const c of r.corruption) {
        const lsns = c.fromLsn === undefined ? '' : ` (records ${c.fromLsn}..${c.toLsn})`;
        problems.push(`damaged bytes at ${c.offset} (${c.bytes} bytes)${lsns} after acknowledged records`);
      }
      for (const c of r.folded) warnings.push(`damaged bytes at ${c.offset} (${c.bytes} bytes) in records ${c.fromLsn}..${c.toLsn} the database already holds`);
      if (r.headerRepaired) warnings.push('damaged header at 0; the open rebuilds it from its records');
      out.push({ file, generation: r.header?.generation, records: r.records, tornBytes: r.tornBytes, problems, warnings });
    } catch (e) {
      problems.push(isSessiondError(e) ? `${e.code}: ${e.message}` : String(e));
      out.push({ file, generation: undefined, records: 0, tornBytes: 0, problems, warnings });
    }
  }
  return out.sort((a, b) => a.file.localeCompare(b.file));
}
