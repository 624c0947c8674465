import { SessiondError, isSessiondError } from '../errors.js';
import type { LogDamage } from '../log/log-reader.js';
import type { LsnGap } from '../log/lsn-chain.js';
import type { LogRecord } from '../log/record-codec.js';
import type { PayloadLayout } from '../format/constants.js';
import type { Encryption } from '../session/attr-seal.js';
import { decodePayload } from '../session/session-decoder.js';

/** Recovery's error shaping and damage reports (recovery.ts). */

/** A folded record is read only to redo a damaged image: one that does not decode is not this open's concern. */
export function tryDecode(rec: LogRecord, layout: PayloadLayout, enc: Encryption | undefined): ReturnType<typeof decodePayload> | undefined {
  try {
    return decodePayload(rec.type, rec.data, layout, enc);
  } catch {
    return undefined;
  }
}

export function wrapCorrupt(e: unknown, file: string, offset: number): unknown {
  if (isSessiondError(e, 'SESSIOND_RECORD_CORRUPT')) {
    return new SessiondError('SESSIOND_LOG_CORRUPT', `${file} at byte ${offset}: ${e.message}`, { file, offset, bytes: 0 }, { cause: e });
  }
  return e;
}

export function lsnDetail(c: LogDamage): { offset: number; bytes: number; detail?: string } {
  const known = c.fromLsn !== undefined && c.toLsn !== undefined;
  return { offset: c.offset, bytes: c.bytes, ...(known ? { detail: `records ${c.fromLsn}..${c.toLsn}` } : {}) };
}

export function gapError(g: LsnGap): SessiondError {
  return new SessiondError(
    'SESSIOND_LOG_CORRUPT',
    `${g.file}: records ${g.fromLsn}..${g.toLsn} are missing: its valid records end at offset ${g.offset} (${g.bytes} bytes follow), but ${g.vouchedBy} vouches they were durable`,
    { file: g.file, offset: g.offset, bytes: g.bytes, fromLsn: g.fromLsn, toLsn: g.toLsn, vouchedBy: g.vouchedBy },
  );
}
