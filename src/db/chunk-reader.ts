/**
 * Big sequential reads for the open scan: one reusable buffer of `chunkBytes` (or of the
 * file's size when that is smaller), refilled at whatever position the scanner needs next.
 * Images are handed out as views into it.
 */

import { assert } from '../assert.js';
import { ioError } from '../errors.js';
import type { FileHandle } from '../fs/file-system.js';

export class ChunkReader {
  readonly buffer: Uint8Array;
  private start = 0;
  private length = 0;
  /** Bytes read from the file so far. */
  bytesRead = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly fileBytes: number,
    readonly chunkBytes: number,
  ) {
    // A Buffer: the image views handed out are then Buffers the engine decodes strings
    // from directly (one view per image, not a view and a wrapper). Callers copy with
    // Uint8Array.from: Buffer#slice is a view, not a copy.
    // No bigger than the file: no read asks for more than the file holds past its position
    // (fill's `want`), and zero-filling a whole chunk at every open of a small database cost
    // the crash simulator a quarter of its CPU (docs/benchmarks.md).
    this.buffer = Buffer.alloc(Math.min(chunkBytes, fileBytes));
  }

  /** Index in `buffer` of file bytes [pos, pos + len), or -1 when they are not all loaded. */
  indexOf(pos: number, len: number): number {
    return pos >= this.start && pos + len <= this.start + this.length ? pos - this.start : -1;
  }

  /** Index of [pos, pos + len) in `buffer`, reading a chunk at `pos` if needed. */
  async load(pos: number, len: number): Promise<number> {
    const i = this.indexOf(pos, len);
    if (i >= 0) return i;
    assert(len <= this.chunkBytes, `read of ${len} bytes does not fit a ${this.chunkBytes}-byte chunk`);
    await this.fill(pos);
    // The file is ours alone while open, so it cannot shrink under the scan.
    assert(this.length >= len, `short read at ${pos} in ${this.handle.path}: ${this.length} < ${len}`);
    return 0;
  }

  /** Reads a chunk starting at `pos` (or less at the end of the file); returns its length. */
  async fill(pos: number): Promise<number> {
    const want = Math.max(0, Math.min(this.chunkBytes, this.fileBytes - pos));
    this.start = pos;
    this.length = 0;
    try {
      this.length = await this.handle.read(this.buffer, 0, want, pos);
    } catch (e) {
      throw ioError('read', this.handle.path, e);
    }
    this.bytesRead += this.length;
    return this.length;
  }

  /** Reads exactly `len` bytes at `pos` into a new buffer (an image bigger than a chunk). */
  async readExact(pos: number, len: number): Promise<Uint8Array> {
    const out = new Uint8Array(len);
    let got: number;
    try {
      got = await this.handle.read(out, 0, len, pos);
    } catch (e) {
      throw ioError('read', this.handle.path, e);
    }
    assert(got === len, `short read at ${pos} in ${this.handle.path}: ${got} < ${len}`);
    this.bytesRead += got;
    return out;
  }
}
