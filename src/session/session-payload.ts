import { isValidSessionId } from './session-id.js';
import type { RecordType } from '../format/constants.js';
import type { SessionState } from './session-state.js';
import { SessiondError } from '../errors.js';

/**
 * Session payloads, docs/format.md §3: the `data` of log records and database images.
 * A PUT payload is also the database image payload. Their types and the `str16 id` field
 * that starts each of them; session-encoder.ts writes them, session-decoder.ts reads them.
 */

export interface PatchPayload {
  type: typeof RecordType.PATCH;
  id: string;
  version: number;
  lastAccessAtMs: number;
  expiresAtMs: number;
  maxInactiveMs: number;
  /** The principal after the change ('' = none; v2 records: undefined, computed by recovery). */
  principal?: string;
  /** blob of changed attributes */
  set: string;
  /** JSON names joined by \x00 */
  removed: string;
}
export interface TouchPayload {
  type: typeof RecordType.TOUCH;
  id: string;
  version: number;
  lastAccessAtMs: number;
  expiresAtMs: number;
}
export interface DeletePayload {
  type: typeof RecordType.DELETE;
  id: string;
  version: number;
}
export interface TombstonePayload {
  type: typeof RecordType.TOMBSTONE;
  id: string;
  version: number;
  destroyedAtMs: number;
}
export interface PutPayload {
  type: typeof RecordType.PUT;
  /** lsn is 0 here: the record or image carries it. */
  state: SessionState;
}
export type Payload = PutPayload | PatchPayload | TouchPayload | DeletePayload | TombstonePayload;

/** Bytes of the `str16 id` field that starts every payload. */
export function idFieldBytes(id: string): number {
  return 2 + Buffer.byteLength(id, 'utf8');
}

/** The session ID a PUT payload (or image) starts with (`str16 id`, docs/format.md §3.1), without decoding the rest. */
export function putPayloadId(data: Uint8Array): string {
  const id = idAt(data, 0, data.byteLength);
  if (id === undefined) throw new SessiondError('SESSIOND_RECORD_CORRUPT', 'the PUT payload does not start with a valid session id');
  return id;
}

/** Reads the session ID at the start of any payload, or undefined if it is malformed. */
export function payloadId(data: Uint8Array): string | undefined {
  return idAt(data, 0, data.byteLength);
}

/**
 * The `str16 id` at `start` of a payload of `payloadBytes` (database scan and log replay
 * share it), or undefined when it runs past the payload, is not UTF-8 that re-encodes to
 * the same bytes, or fails isValidSessionId.
 */
export function idAt(b: Uint8Array, start: number, payloadBytes: number): string | undefined {
  if (payloadBytes < 2) return undefined;
  const bytes = b[start]! | (b[start + 1]! << 8);
  if (2 + bytes > payloadBytes) return undefined;
  const id = Buffer.from(b.buffer, b.byteOffset + start + 2, bytes).toString('utf8');
  return isValidSessionId(id) && Buffer.byteLength(id, 'utf8') === bytes ? id : undefined;
}
