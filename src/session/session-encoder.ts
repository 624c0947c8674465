import { Buffer } from 'node:buffer';
import { RecordType } from '../format/constants.js';
import { sealableBytes, writeSealable, type Encryption } from './attr-seal.js';
import { writeU64 } from '../format/bytes.js';
import { assert } from '../assert.js';
import type { SessionState } from './session-state.js';
import { idFieldBytes, type DeletePayload, type PatchPayload, type TombstonePayload, type TouchPayload } from './session-payload.js';

/** Encodes session payloads (docs/format.md §3, types in session-payload.ts); session-decoder.ts reads them. */

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
  return sealedPutBytes(putPayloadBytes(s), enc);
}

/** encodedPutBytes from the clear PUT payload's size (putPayloadBytes), when the caller has it. */
export function sealedPutBytes(clearBytes: number, enc?: Encryption): number {
  // The clear sealable field is 1 byte of key-ID length before the plain bytes.
  return clearBytes - 1 + sealableBytes(enc, 0);
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
