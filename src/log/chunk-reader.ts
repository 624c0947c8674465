/**
 * A forward-only window over a file, read in chunks: the log reader holds one chunk plus
 * the partial record at its end, never the whole file (except the tail it must scan after
 * damage).
 */

import { assert } from '../assert.js';
import { ioError } from '../errors.js';
import type { FileHandle } from '../fs/file-system.js';

export class ChunkReader {
  private buf: Uint8Array;
  /** File offset of buf[0]. */
  private bufPos: number;
  private filled = 0;
  /** The loaded bytes, buf[0 .. filled), at file offset `base`. */
  view: Uint8Array;

  constructor(
    private readonly fh: FileHandle,
    /** The file's size when reading began; shrinks if a read finds the file shorter. */
    public fileBytes: number,
    private readonly chunkBytes: number,
    startOffset: number,
  ) {
    assert(Number.isSafeInteger(chunkBytes) && chunkBytes >= 1, `readChunkBytes ${chunkBytes}`);
    this.buf = new Uint8Array(Math.min(chunkBytes, Math.max(fileBytes - startOffset, 1)));
    this.bufPos = startOffset;
    this.view = this.buf.subarray(0, 0);
  }

  /** File offset of view[0]. */
  get base(): number {
    return this.bufPos;
  }

  /** File offset just past the loaded bytes. */
  get end(): number {
    return this.bufPos + this.filled;
  }

  get atEof(): boolean {
    return this.end >= this.fileBytes;
  }

  /** Forgets the bytes before `pos` and reads one more chunk after the loaded ones. */
  async more(pos: number): Promise<void> {
    this.discardBefore(pos);
    const want = Math.min(this.chunkBytes, this.fileBytes - this.end);
    if (want <= 0) return;
    this.ensureCapacity(this.filled + want);
    await this.readInto(want);
  }

  /** Loads every byte from `pos` to the end of the file (the resync scan needs them all). */
  async loadRest(pos: number): Promise<void> {
    this.discardBefore(pos);
    this.ensureCapacity(this.fileBytes - pos);
    while (!this.atEof) await this.readInto(Math.min(this.chunkBytes, this.fileBytes - this.end));
  }

  private discardBefore(pos: number): void {
    assert(pos >= this.bufPos && pos <= this.end, `chunk reader moved back to ${pos}`);
    const drop = pos - this.bufPos;
    if (drop === 0) return;
    this.buf.copyWithin(0, drop, this.filled);
    this.filled -= drop;
    this.bufPos = pos;
    this.view = this.buf.subarray(0, this.filled);
  }

  private ensureCapacity(bytes: number): void {
    if (bytes <= this.buf.byteLength) return;
    const grown = new Uint8Array(Math.max(bytes, this.buf.byteLength * 2));
    grown.set(this.buf.subarray(0, this.filled));
    this.buf = grown;
    this.view = this.buf.subarray(0, this.filled);
  }

  private async readInto(want: number): Promise<void> {
    let n: number;
    try {
      n = await this.fh.read(this.buf, this.filled, want, this.end);
    } catch (e) {
      throw ioError('read', this.fh.path, e);
    }
    this.filled += n;
    // A short read means the file ended early (someone truncated it): it ends here.
    if (n < want) this.fileBytes = this.end;
    this.view = this.buf.subarray(0, this.filled);
  }
}
