import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { KEY_ID_PATTERN, SEAL_KEY_BYTES, SEAL_NONCE_BYTES, SEAL_TAG_BYTES } from '../format/constants.js';
import { SessiondError } from '../errors.js';

/**
 * Sealable payload fields (docs/format.md §3.7): the attribute bytes of PUT and PATCH
 * payloads, in clear or sealed with AES-256-GCM under a key ID and a fresh nonce, the
 * record type and every clear byte before the nonce bound as additional authenticated data.
 */

/** The `encryption` option as given: key ID → 32-byte key (bytes, or base64 text). */
export interface EncryptionInput {
  readonly keys: Readonly<Record<string, Uint8Array | string>>;
  readonly current: string;
}

/** The `encryption` option once validated (options.ts): every key 32 bytes. */
export interface Encryption {
  readonly keys: ReadonlyMap<string, Buffer>;
  readonly current: string;
  readonly currentIdBytes: Buffer;
}

const ALGORITHM = 'aes-256-gcm';
/** Bytes of a sealed field besides the sealed bytes: keyIdBytes, keyId, nonce, sealedBytes, tag. */
function sealOverheadBytes(enc: Encryption): number {
  return 1 + enc.currentIdBytes.length + SEAL_NONCE_BYTES + 4 + SEAL_TAG_BYTES;
}

/** Bytes of a sealable field holding `plainBytes` bytes of X. */
export function sealableBytes(enc: Encryption | undefined, plainBytes: number): number {
  return enc === undefined ? 1 + plainBytes : sealOverheadBytes(enc) + plainBytes;
}

function badKeys(detail: string, key?: string): SessiondError {
  return new SessiondError('SESSIOND_INVALID_OPTION', `encryption: ${detail}`, { option: 'encryption', key });
}

/** Validates the option (typed errors naming the bad key ID) and freezes a copy. */
export function resolveEncryption(input: unknown): Encryption {
  if (typeof input !== 'object' || input === null) throw badKeys('expected { keys, current }');
  for (const k of Object.keys(input)) if (k !== 'keys' && k !== 'current') throw badKeys(`unknown field ${JSON.stringify(k)}`);
  const { keys, current } = input as EncryptionInput;
  if (typeof keys !== 'object' || keys === null) throw badKeys('keys must be an object of key ID → 32-byte key');
  const out = new Map<string, Buffer>();
  for (const [id, raw] of Object.entries(keys)) {
    if (!KEY_ID_PATTERN.test(id)) throw badKeys(`key ID ${JSON.stringify(id)} must be 1-64 characters of A-Z a-z 0-9 . _ -`, id);
    const key = typeof raw === 'string' ? Buffer.from(raw, 'base64') : raw instanceof Uint8Array ? Buffer.from(raw) : undefined;
    if (key === undefined || key.length !== SEAL_KEY_BYTES) throw badKeys(`key ${id} must be ${SEAL_KEY_BYTES} bytes (or their base64)`, id);
    out.set(id, key);
  }
  if (typeof current !== 'string' || !out.has(current)) throw badKeys(`current key ${JSON.stringify(current)} is not one of the keys`, String(current));
  return Object.freeze({ keys: out, current, currentIdBytes: Buffer.from(current, 'ascii') });
}

/** Nonces come from one pool refilled by the CSPRNG: one call per 341 seals, not one per seal. */
const NONCE_POOL_BYTES = 4092;
let noncePool = Buffer.alloc(0);
let noncePos = NONCE_POOL_BYTES;
function nextNonce(target: Buffer, at: number): void {
  if (noncePos + SEAL_NONCE_BYTES > noncePool.length) {
    noncePool = randomFillSync(Buffer.allocUnsafe(NONCE_POOL_BYTES));
    noncePos = 0;
  }
  noncePool.copy(target, at, noncePos, noncePos + SEAL_NONCE_BYTES);
  // A nonce is used once: wipe it from the pool.
  noncePool.fill(0, noncePos, noncePos + SEAL_NONCE_BYTES);
  noncePos += SEAL_NONCE_BYTES;
}

function aad(type: number, payload: Buffer, end: number): Buffer {
  const a = Buffer.allocUnsafe(1 + end);
  a[0] = type;
  payload.copy(a, 1, 0, end);
  return a;
}

/**
 * Writes the sealable field holding `plain` at `pos` of `payload`, whose bytes before `pos`
 * are the clear fields (already written). Returns the position after it.
 */
export function writeSealable(payload: Buffer, pos: number, type: number, plain: Buffer, enc: Encryption | undefined): number {
  if (enc === undefined) {
    payload[pos] = 0;
    plain.copy(payload, pos + 1);
    return pos + 1 + plain.length;
  }
  const id = enc.currentIdBytes;
  payload[pos] = id.length;
  id.copy(payload, pos + 1);
  const nonceAt = pos + 1 + id.length;
  nextNonce(payload, nonceAt);
  const cipher = createCipheriv(ALGORITHM, enc.keys.get(enc.current)!, payload.subarray(nonceAt, nonceAt + SEAL_NONCE_BYTES), { authTagLength: SEAL_TAG_BYTES });
  cipher.setAAD(aad(type, payload, nonceAt));
  let at = nonceAt + SEAL_NONCE_BYTES;
  payload.writeUInt32LE(plain.length, at);
  at += 4;
  at += cipher.update(plain).copy(payload, at);
  at += cipher.final().copy(payload, at);
  at += cipher.getAuthTag().copy(payload, at);
  return at;
}

function corrupt(detail: string): SessiondError {
  return new SessiondError('SESSIOND_RECORD_CORRUPT', detail);
}

/**
 * The bytes of X in the sealable field at `pos`, which runs to the end of `payload`: a view
 * when clear, the opened plaintext when sealed. Throws SESSIOND_KEY_MISSING for an unknown
 * key ID, SESSIOND_RECORD_CORRUPT for anything else that does not open.
 */
export function readSealable(payload: Buffer, pos: number, type: number, enc: Encryption | undefined): Buffer {
  const f = sealedFraming(payload, pos);
  if (f === undefined) return payload.subarray(pos + 1);
  const { keyId, nonceAt, dataAt, sealedBytes } = f;
  const key = enc?.keys.get(keyId);
  if (key === undefined) {
    throw new SessiondError('SESSIOND_KEY_MISSING', `key ${keyId} is not in the encryption option's keys`, { keyId });
  }
  const decipher = createDecipheriv(ALGORITHM, key, payload.subarray(nonceAt, nonceAt + SEAL_NONCE_BYTES), { authTagLength: SEAL_TAG_BYTES });
  decipher.setAAD(aad(type, payload, nonceAt));
  decipher.setAuthTag(payload.subarray(dataAt + sealedBytes));
  const head = decipher.update(payload.subarray(dataAt, dataAt + sealedBytes));
  try {
    const tail = decipher.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch (e) {
    throw new SessiondError('SESSIOND_RECORD_CORRUPT', `sealed field under key ${keyId} fails its authentication tag`, { keyId }, { cause: e });
  }
}

/**
 * Bytes of X in the sealable field at `pos` (running to the end of `payload`) without
 * opening it: what a cold session's summary needs (engine/cold-sessions.ts). Checks the
 * framing as readSealable does and that `enc` holds the key (SESSIOND_KEY_MISSING, at the
 * open rather than at a later load); the tag is checked when the session is loaded.
 */
export function sealableLength(payload: Buffer, pos: number, enc: Encryption | undefined): number {
  const f = sealedFraming(payload, pos);
  if (f === undefined) return payload.length - pos - 1;
  if (enc?.keys.has(f.keyId) !== true) throw new SessiondError('SESSIOND_KEY_MISSING', `key ${f.keyId} is not in the encryption option's keys`, { keyId: f.keyId });
  return f.sealedBytes;
}

/**
 * The framing of the sealable field at `pos` (docs/format.md §3.7), checked: undefined when
 * the field is clear (X follows its 0 byte), else where the key ID, nonce and ciphertext are.
 * One reader for readSealable and sealableLength, so both refuse the same bytes.
 */
function sealedFraming(payload: Buffer, pos: number): { keyId: string; nonceAt: number; dataAt: number; sealedBytes: number } | undefined {
  if (pos >= payload.length) throw corrupt(`sealable field runs past the end at byte ${pos}`);
  const idBytes = payload[pos]!;
  if (idBytes === 0) return undefined;
  const nonceAt = pos + 1 + idBytes;
  const dataAt = nonceAt + SEAL_NONCE_BYTES + 4;
  if (dataAt > payload.length) throw corrupt(`sealed field head runs past the end at byte ${pos}`);
  const keyId = payload.toString('latin1', pos + 1, nonceAt);
  if (!KEY_ID_PATTERN.test(keyId)) throw corrupt('sealed field has a malformed key ID');
  const sealedBytes = payload.readUInt32LE(nonceAt + SEAL_NONCE_BYTES);
  if (dataAt + sealedBytes + SEAL_TAG_BYTES !== payload.length) throw corrupt(`sealed field of ${sealedBytes} bytes does not end the payload`);
  return { keyId, nonceAt, dataAt, sealedBytes };
}
