/**
 * The byte contents of one simulated file: a buffer whose capacity doubles, so appends
 * cost amortised O(bytes written) instead of a copy of the whole file.
 * Invariant: every byte at or past `size` (up to the capacity) is zero, so growing the
 * file, by a write past the end or by truncate, zero-fills like POSIX.
 */

import { assert } from '../assert.js';

const INITIAL_CAPACITY_BYTES = 4096;

export class SimBuffer {
  private bytes: Uint8Array;
  private length = 0;

  constructor(initial?: Uint8Array) {
    this.bytes = new Uint8Array(Math.max(INITIAL_CAPACITY_BYTES, initial?.byteLength ?? 0));
    if (initial) this.write(0, initial);
  }

  get size(): number {
    return this.length;
  }

  write(position: number, data: Uint8Array): void {
    assert(Number.isSafeInteger(position) && position >= 0, `bad write position ${position}`);
    if (data.byteLength === 0) return;
    const end = position + data.byteLength;
    this.reserve(end);
    this.bytes.set(data, position);
    if (end > this.length) this.length = end;
  }

  truncate(size: number): void {
    assert(Number.isSafeInteger(size) && size >= 0, `bad truncate size ${size}`);
    if (size < this.length) this.bytes.fill(0, size, this.length);
    else this.reserve(size);
    this.length = size;
  }

  /** Copies up to `length` bytes at `position` into `dst` at `offset`; returns the count (pread). */
  read(dst: Uint8Array, offset: number, length: number, position: number): number {
    const n = Math.max(0, Math.min(length, this.length - position));
    if (n > 0) dst.set(this.bytes.subarray(position, position + n), offset);
    return n;
  }

  /** A copy of the contents. */
  snapshot(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }

  /** A read-only view of the contents; valid until the next write or truncate. */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  clone(): SimBuffer {
    return new SimBuffer(this.view());
  }

  private reserve(capacity: number): void {
    if (capacity <= this.bytes.byteLength) return;
    let next = this.bytes.byteLength * 2;
    while (next < capacity) next *= 2;
    const grown = new Uint8Array(next);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
}
