import { PAYLOAD_LAYOUT_V2, PAYLOAD_LAYOUT_V3, RecordType, type PayloadLayout } from '../format/constants.js';
import { readSealable, sealableBytes, writeSealable, type Encryption } from './attr-seal.js';
import { readU64, writeU64 } from '../format/bytes.js';
import { SessiondError } from '../errors.js';
import { assert } from '../assert.js';
import { isValidSessionId } from './session-id.js';
import { makeState, type SessionState } from './session-state.js';

/**
 * Session payloads, docs/format.md §3: the `data` of log records and database images.
 * A PUT payload is also the database image payload.
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

class Writer {
  /** Where the payload starts in `buf` (a sealed field's AAD is the payload's bytes before it, from here). */
  private readonly start: number;
  constructor(
    readonly buf: Buffer,
    public pos = 0,
  ) {
    this.start = pos;
  }
  static alloc(bytes: number): Writer {
    return new Writer(Buffer.allocUnsafe(bytes));
  }
  u8(v: number): void {
    this.buf[this.pos++] = v;
  }
  u32(v: number): void {
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
  }
  u64(v: number): void {
    writeU64(this.buf, this.pos, v);
    this.pos += 8;
  }
  str8(s: string, bytes: number): void {
    this.u8(bytes);
    this.pos += this.buf.write(s, this.pos, bytes, 'utf8');
  }
  /** `str16 id`: u16 length + UTF-8 (isValidSessionId keeps it within SESSION_ID_BYTES_MAX). */
  id(id: string): void {
    const bytes = this.buf.write(id, this.pos + 2, 'utf8');
    this.buf.writeUInt16LE(bytes, this.pos);
    this.pos += 2 + bytes;
  }
  str32(s: string, bytes: number): void {
    this.u32(bytes);
    this.pos += this.buf.write(s, this.pos, bytes, 'utf8');
  }
  /**
   * `str32` whose length is what the write took: no second UTF-8 scan of a long string. The
   * caller sized the buffer; a wrong size shows in its check of the end position.
   */
  str32Measured(s: string): void {
    const bytes = this.buf.write(s, this.pos + 4, 'utf8');
    this.buf.writeUInt32LE(bytes, this.pos);
    this.pos += 4 + bytes;
  }
  /** The sealable field (format.md §3.7) holding `a` (and `b`) as str32s: written in place when clear. */
  sealable(type: number, enc: Encryption | undefined, a: string, b?: string): void {
    if (enc !== undefined) {
      const payload = this.start === 0 ? this.buf : this.buf.subarray(this.start);
      this.pos = this.start + writeSealable(payload, this.pos - this.start, type, b === undefined ? plainOf(a) : plainOf(a, b), enc);
      return;
    }
    this.u8(0); // writeSealable's clear form: a zero key-ID length, then the plain bytes
    this.str32Measured(a);
    if (b !== undefined) this.str32Measured(b);
  }
}

/** A Buffer over `target`'s bytes (the Writer needs Buffer's methods). */
function asBuffer(target: Uint8Array): Buffer {
  return Buffer.isBuffer(target) ? target : Buffer.from(target.buffer, target.byteOffset, target.byteLength);
}

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

/**
 * Bytes of the clear PUT payload of `s` (docs/format.md §3.1), without encoding it: the
 * size sessionBytesMax limits, the same with or without encryption.
 */
export function putPayloadBytes(s: SessionState): number {
  return idFieldBytes(s.id) + 8 * 4 + 4 + 1 + Buffer.byteLength(s.owner, 'utf8') + 1 + Buffer.byteLength(s.principal, 'utf8') + 1 + 4 + Buffer.byteLength(s.attrs, 'utf8');
}

/** X of a sealable field: `str32` strings back to back, encoded into their own buffer. */
function plainOf(...parts: string[]): Buffer {
  let bytes = 0;
  for (const p of parts) bytes += 4 + Buffer.byteLength(p, 'utf8');
  const w = Writer.alloc(bytes);
  for (const p of parts) w.str32(p, Buffer.byteLength(p, 'utf8'));
  return w.buf;
}

/** Bytes of the PUT payload `encodePut(s, enc)` makes (sealed when `enc` is given). */
export function encodedPutBytes(s: SessionState, enc?: Encryption): number {
  // The clear sealable field is 1 byte of key-ID length before the plain bytes.
  return putPayloadBytes(s) - 1 + sealableBytes(enc, 0);
}

/** The v3 PUT payload (and database image payload), its attributes sealed when `enc` is given. */
export function encodePut(s: SessionState, enc?: Encryption): Buffer {
  const buf = Buffer.allocUnsafe(encodedPutBytes(s, enc));
  const end = encodePutInto(buf, 0, s, enc);
  assert(end === buf.length, `PUT payload of ${buf.length} bytes filled to ${end}`);
  return buf;
}

/**
 * encodePut into `target` at `at` (the log's group buffer: the record is encoded where it
 * is written from, with no buffer of its own). Returns the end offset; the caller sized
 * the room with encodedPutBytes and checks the end.
 */
export function encodePutInto(target: Uint8Array, at: number, s: SessionState, enc?: Encryption): number {
  const w = new Writer(asBuffer(target), at);
  w.id(s.id);
  w.u64(s.version);
  w.u64(s.createdAtMs);
  w.u64(s.lastAccessAtMs);
  w.u64(s.expiresAtMs);
  w.u32(s.maxInactiveMs);
  w.str8(s.owner, Buffer.byteLength(s.owner, 'utf8'));
  w.str8(s.principal, Buffer.byteLength(s.principal, 'utf8'));
  w.sealable(RecordType.PUT, enc, s.attrs);
  return w.pos;
}

/** Bytes of the v3 PATCH payload (docs/format.md §3.2) `encodePatch(p, enc)` makes, without encoding it. */
export function patchPayloadBytes(p: Omit<PatchPayload, 'type'>, enc?: Encryption): number {
  const plainBytes = 4 + Buffer.byteLength(p.set, 'utf8') + 4 + Buffer.byteLength(p.removed, 'utf8');
  return idFieldBytes(p.id) + 8 * 3 + 4 + 1 + Buffer.byteLength(p.principal ?? '', 'utf8') + sealableBytes(enc, plainBytes);
}

export function encodePatch(p: Omit<PatchPayload, 'type'>, enc?: Encryption): Buffer {
  const buf = Buffer.allocUnsafe(patchPayloadBytes(p, enc));
  const end = encodePatchInto(buf, 0, p, enc);
  assert(end === buf.length, `PATCH payload of ${buf.length} bytes filled to ${end}`);
  return buf;
}

/** encodePatch into `target` at `at`, as encodePutInto; the room is patchPayloadBytes(p, enc). */
export function encodePatchInto(target: Uint8Array, at: number, p: Omit<PatchPayload, 'type'>, enc?: Encryption): number {
  const principal = p.principal ?? '';
  const w = new Writer(asBuffer(target), at);
  w.id(p.id);
  w.u64(p.version);
  w.u64(p.lastAccessAtMs);
  w.u64(p.expiresAtMs);
  w.u32(p.maxInactiveMs);
  w.str8(principal, Buffer.byteLength(principal, 'utf8'));
  w.sealable(RecordType.PATCH, enc, p.set, p.removed);
  return w.pos;
}

export function encodeTouch(p: Omit<TouchPayload, 'type'>): Buffer {
  const w = Writer.alloc(idFieldBytes(p.id) + 8 * 3);
  w.id(p.id);
  w.u64(p.version);
  w.u64(p.lastAccessAtMs);
  w.u64(p.expiresAtMs);
  return w.buf;
}

export function encodeDelete(p: Omit<DeletePayload, 'type'>): Buffer {
  const w = Writer.alloc(idFieldBytes(p.id) + 8);
  w.id(p.id);
  w.u64(p.version);
  return w.buf;
}

export function encodeTombstone(p: Omit<TombstonePayload, 'type'>): Buffer {
  const w = Writer.alloc(idFieldBytes(p.id) + 8 * 2);
  w.id(p.id);
  w.u64(p.version);
  w.u64(p.destroyedAtMs);
  return w.buf;
}

/**
 * Decodes a database image (a PUT payload) whose id the database already parsed and
 * validated, straight into a state: the id string is shared with the database's index and
 * nothing is allocated but the state and its strings (recovery decodes millions of these).
 */
export function decodeImageState(data: Uint8Array, id: string, lsn: number, layout: PayloadLayout = PAYLOAD_LAYOUT_V3, enc?: Encryption): SessionState {
  const b = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const idBytes = idFieldBytes(id);
  if (b.length < 2 || b.readUInt16LE(0) !== idBytes - 2) throw corrupt('image id length does not match the index');
  let pos = idBytes;
  const need = (n: number): void => {
    if (pos + n > b.length) throw corrupt(`field runs past the end at byte ${pos}`);
  };
  need(8 * 4 + 4 + 1);
  const version = readU64(b, pos);
  const createdAtMs = readU64(b, pos + 8);
  const lastAccessAtMs = readU64(b, pos + 16);
  const expiresAtMs = readU64(b, pos + 24);
  if (version <= 0 || createdAtMs < 0 || lastAccessAtMs < 0 || expiresAtMs < 0) throw corrupt('bad version or time field');
  const maxInactiveMs = b.readUInt32LE(pos + 32);
  const ownerBytes = b[pos + 36]!;
  pos += 37;
  need(ownerBytes + 4);
  const owner = ownerAt(b, pos, ownerBytes);
  pos += ownerBytes;
  if (layout === PAYLOAD_LAYOUT_V2) {
    const attrBytes = b.readUInt32LE(pos);
    pos += 4;
    need(attrBytes);
    const attrs = b.toString('utf8', pos, pos + attrBytes);
    if (pos + attrBytes !== b.length) throw corrupt(`${b.length - pos - attrBytes} trailing bytes`);
    return makeState(id, version, lsn, createdAtMs, lastAccessAtMs, expiresAtMs, maxInactiveMs, owner, attrs);
  }
  const r = new Reader(b);
  r.pos = pos;
  const principal = r.principal();
  const x = new Reader(readSealable(b, r.pos, RecordType.PUT, enc));
  const attrs = x.str(x.u32());
  x.end();
  return makeState(id, version, lsn, createdAtMs, lastAccessAtMs, expiresAtMs, maxInactiveMs, owner, attrs, principal);
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

class Reader {
  private readonly buf: Buffer;
  pos = 0;
  constructor(data: Uint8Array) {
    this.buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw corrupt(`field runs past the end at byte ${this.pos}`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = readU64(this.buf, this.pos);
    if (v < 0) throw corrupt(`u64 above 2^53 at byte ${this.pos}`);
    this.pos += 8;
    return v;
  }
  str(bytes: number): string {
    this.need(bytes);
    const s = this.buf.toString('utf8', this.pos, this.pos + bytes);
    this.pos += bytes;
    return s;
  }
  id(): string {
    this.need(2);
    const id = idAt(this.buf, this.pos, this.buf.length - this.pos);
    if (id === undefined) throw corrupt('session id is malformed');
    this.pos += idFieldBytes(id);
    return id;
  }
  version(): number {
    const v = this.u64();
    if (v === 0) throw corrupt('version 0');
    return v;
  }
  /** `str8 principal`: UTF-8 that re-encodes to the same bytes. */
  principal(): string {
    const bytes = this.u8();
    this.need(bytes);
    const p = this.buf.toString('utf8', this.pos, this.pos + bytes);
    if (!Buffer.from(p, 'utf8').equals(this.buf.subarray(this.pos, this.pos + bytes))) throw corrupt('principal is not UTF-8');
    this.pos += bytes;
    return p;
  }
  /** The rest of the payload as a sealable field (format.md §3.7), opened. */
  sealed(type: number, enc: Encryption | undefined): Reader {
    const plain = readSealable(this.buf, this.pos, type, enc);
    this.pos = this.buf.length;
    return new Reader(plain);
  }
  end(): void {
    if (this.pos !== this.buf.length) throw corrupt(`${this.buf.length - this.pos} trailing bytes`);
  }
}

/** The owner's bytes at `pos`: the last owner seen again costs a compare, not a string. */
let lastOwner = '';
let lastOwnerBytes = Buffer.alloc(0);
function ownerAt(b: Buffer, pos: number, bytes: number): string {
  if (bytes === lastOwnerBytes.length && b.compare(lastOwnerBytes, 0, bytes, pos, pos + bytes) === 0) return lastOwner;
  lastOwner = internOwner(b.toString('utf8', pos, pos + bytes));
  lastOwnerBytes = Buffer.from(b.subarray(pos, pos + bytes));
  return lastOwner;
}

/** A store has few owners and a million sessions: share one string per owner. */
const OWNERS_INTERNED_MAX = 1024;
const owners = new Map<string, string>();
function internOwner(owner: string): string {
  const known = owners.get(owner);
  if (known !== undefined) return known;
  if (owners.size < OWNERS_INTERNED_MAX) owners.set(owner, owner);
  return owner;
}

function corrupt(detail: string): SessiondError {
  return new SessiondError('SESSIOND_RECORD_CORRUPT', detail);
}

/**
 * Decodes a payload of the given record type in the given layout (a v2 log's records: v2);
 * throws SESSIOND_RECORD_CORRUPT on any bad field, SESSIOND_KEY_MISSING for a seal under a
 * key `enc` does not hold.
 */
export function decodePayload(type: number, data: Uint8Array, layout: PayloadLayout = PAYLOAD_LAYOUT_V3, enc?: Encryption): Payload {
  const r = new Reader(data);
  const v2 = layout === PAYLOAD_LAYOUT_V2;
  let p: Payload;
  switch (type) {
    case RecordType.PUT: {
      const id = r.id();
      const version = r.version();
      const createdAtMs = r.u64();
      const lastAccessAtMs = r.u64();
      const expiresAtMs = r.u64();
      const maxInactiveMs = r.u32();
      const owner = internOwner(r.str(r.u8()));
      const principal = v2 ? '' : r.principal();
      const x = v2 ? r : r.sealed(type, enc);
      const attrs = x.str(x.u32());
      x.end();
      p = { type, state: makeState(id, version, 0, createdAtMs, lastAccessAtMs, expiresAtMs, maxInactiveMs, owner, attrs, principal) };
      break;
    }
    case RecordType.PATCH: {
      const id = r.id();
      const version = r.version();
      const lastAccessAtMs = r.u64();
      const expiresAtMs = r.u64();
      const maxInactiveMs = r.u32();
      const principal = v2 ? undefined : r.principal();
      const x = v2 ? r : r.sealed(type, enc);
      const set = x.str(x.u32());
      const removed = x.str(x.u32());
      x.end();
      p = { type, id, version, lastAccessAtMs, expiresAtMs, maxInactiveMs, set, removed, ...(principal === undefined ? {} : { principal }) };
      break;
    }
    case RecordType.TOUCH:
      p = { type, id: r.id(), version: r.version(), lastAccessAtMs: r.u64(), expiresAtMs: r.u64() };
      break;
    case RecordType.DELETE:
      p = { type, id: r.id(), version: r.version() };
      break;
    case RecordType.TOMBSTONE:
      p = { type, id: r.id(), version: r.version(), destroyedAtMs: r.u64() };
      break;
    default:
      throw corrupt(`unknown record type ${type}`);
  }
  r.end();
  return p;
}
