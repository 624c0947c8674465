import { readU64 } from '../format/bytes.js';
import { SessiondError } from '../errors.js';
import { idFieldBytes } from './session-payload.js';
import { readSealable, sealableLength, type Encryption } from './attr-seal.js';
import { RecordType } from '../format/constants.js';
import { effectiveExpiryMs, type SessionState } from './session-state.js';
import type { ColdSummary } from '../engine/cold-sessions.js';

/**
 * What the cache keeps of a session it does not load (engine/cold-sessions.ts), read from a
 * v3 database image (a PUT payload, docs/format.md §3.1) without decoding its attributes:
 * the open makes no string of them (the principal is a clear field, and a sealed field's
 * length is clear too; its tag is checked). Checks the same lengths as decodeImageState, so an
 * image it accepts decodes later (its crc was checked by the scan; a sealed field's tag is
 * checked at that decode). A v2 image has no principal: recovery decodes it instead.
 */
export function summarizeImage(data: Uint8Array, id: string, lsn: number, enc?: Encryption): ColdSummary {
  const b = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const idBytes = idFieldBytes(id);
  if (b.length < 2 || b.readUInt16LE(0) !== idBytes - 2) throw corrupt('image id length does not match the index');
  let pos = idBytes;
  if (pos + 37 > b.length) throw corrupt(`field runs past the end at byte ${pos}`);
  const version = readU64(b, pos);
  const createdAtMs = readU64(b, pos + 8);
  const lastAccessAtMs = readU64(b, pos + 16);
  const expiresAtMs = readU64(b, pos + 24);
  if (version <= 0 || createdAtMs < 0 || lastAccessAtMs < 0 || expiresAtMs < 0) throw corrupt('bad version or time field');
  const maxInactiveMs = b.readUInt32LE(pos + 32);
  const ownerBytes = b[pos + 36]!;
  pos += 37;
  if (pos + ownerBytes + 1 > b.length) throw corrupt(`field runs past the end at byte ${pos}`);
  const owner = b.toString('utf8', pos, pos + ownerBytes);
  pos += ownerBytes;
  const principalBytes = b[pos]!;
  pos += 1;
  if (pos + principalBytes > b.length) throw corrupt(`principal runs past the end at byte ${pos}`);
  const principal = principalBytes === 0 ? '' : b.toString('utf8', pos, pos + principalBytes);
  if (principalBytes > 0 && !Buffer.from(principal, 'utf8').equals(b.subarray(pos, pos + principalBytes))) throw corrupt('principal is not UTF-8');
  pos += principalBytes;
  // X of the sealable field is `str32 attributes` (docs/format.md §3.7).
  const plainBytes = sealableLength(b, pos, enc);
  if (plainBytes < 4) throw corrupt('attribute field shorter than its length');
  const attrBytes = plainBytes - 4;
  // A sealed field's tag is checked now, as a decode at the open would (one AES-GCM pass, no
  // string made): a sealed image changed under a valid crc is refused at the open, not at a later read.
  if (b[pos] !== 0) readSealable(b, pos, RecordType.PUT, enc);
  if (b[pos] === 0 && b.readUInt32LE(pos + 1) !== attrBytes) throw corrupt('attribute length does not match the image');
  // Attribute text is JSON: its UTF-16 length is its UTF-8 length for ASCII, close otherwise.
  const sliding = maxInactiveMs > 0 ? lastAccessAtMs + maxInactiveMs : Infinity;
  const absolute = expiresAtMs > 0 ? expiresAtMs : Infinity;
  return { lsn, createdAtMs, lastAccessAtMs, expiryMs: Math.min(sliding, absolute), attrChars: attrBytes, owner, principal };
}

/** The summary of a loaded state, kept when the cache evicts it. */
export function summarizeState(s: SessionState): ColdSummary {
  return { lsn: s.lsn, createdAtMs: s.createdAtMs, lastAccessAtMs: s.lastAccessAtMs, expiryMs: effectiveExpiryMs(s), attrChars: s.attrs.length, owner: s.owner, principal: s.principal };
}

function corrupt(detail: string): SessiondError {
  return new SessiondError('SESSIOND_RECORD_CORRUPT', detail);
}
