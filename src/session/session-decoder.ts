import { PAYLOAD_LAYOUT_V2, PAYLOAD_LAYOUT_V3, RecordType, type PayloadLayout } from '../format/constants.js';
import { readSealable, type Encryption } from './attr-seal.js';
import { readU64 } from '../format/bytes.js';
import { SessiondError } from '../errors.js';
import { makeState, type SessionState } from './session-state.js';
import { idAt, idFieldBytes, type Payload } from './session-payload.js';

/** Decodes session payloads (docs/format.md §3, types in session-payload.ts) that session-encoder.ts writes. */

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
