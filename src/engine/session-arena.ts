import { assert } from '../assert.js';

/** Size of one arena chunk: big enough that a million sessions make ~70 objects, not millions. */
export const ARENA_CHUNK_BYTES = 16 * 1024 * 1024;

/**
 * Off-heap bytes of sessions not yet decoded (docs/memory.md "The open"): the open without
 * a cache bound copies each image's payload here instead of decoding it into strings, so
 * it makes no garbage for V8 to mark, and a session is decoded on its first access. Bytes
 * are appended to large chunks; a chunk is dropped once every session in it has been decoded
 * or deleted (its live byte count reaches zero).
 */
export class SessionArena {
  private readonly chunks: Array<Buffer | undefined> = [];
  private readonly live: number[] = [];
  private pos = ARENA_CHUNK_BYTES;
  /** Bytes held by the chunks still referenced. */
  bytes = 0;

  /** Offset of the bytes the last add() placed. */
  lastOffset = 0;

  /** Copies `data` in; returns the chunk number (offset in `lastOffset`). */
  add(data: Uint8Array): number {
    const n = data.byteLength;
    if (n > ARENA_CHUNK_BYTES) return this.newChunk(n, data);
    if (this.pos + n > ARENA_CHUNK_BYTES || this.chunks[this.chunks.length - 1] === undefined) this.newChunk(ARENA_CHUNK_BYTES);
    const c = this.chunks.length - 1;
    copyInto(this.chunks[c]!, data, this.pos);
    this.lastOffset = this.pos;
    this.pos += n;
    this.live[c]! += n;
    return c;
  }

  /** A view of bytes added before (valid until they are released). */
  view(chunk: number, offset: number, length: number): Buffer {
    const b = this.chunks[chunk];
    assert(b !== undefined && offset + length <= b.length, `arena chunk ${chunk} released or too short`);
    return b.subarray(offset, offset + length);
  }

  /** The bytes are no longer needed; a chunk with none left is dropped. */
  release(chunk: number, length: number): void {
    this.live[chunk]! -= length;
    assert(this.live[chunk]! >= 0, `arena chunk ${chunk} released more than it holds`);
    if (this.live[chunk] === 0 && this.chunks[chunk] !== undefined) {
      this.bytes -= this.chunks[chunk]!.length;
      this.chunks[chunk] = undefined;
    }
  }

  private newChunk(bytes: number, data?: Uint8Array): number {
    const b = Buffer.allocUnsafeSlow(bytes);
    this.chunks.push(b);
    this.live.push(0);
    this.bytes += bytes;
    const c = this.chunks.length - 1;
    if (data !== undefined) {
      // A payload bigger than a chunk gets its own; the next add() starts a fresh one.
      copyInto(b, data, 0);
      this.live[c] = data.byteLength;
      this.lastOffset = 0;
      this.pos = ARENA_CHUNK_BYTES;
      return c;
    }
    this.pos = 0;
    return c;
  }
}

/** Buffer#copy when `data` is a Buffer (the scan hands out Buffer views): a plain memcpy. */
function copyInto(to: Buffer, data: Uint8Array, at: number): void {
  if (Buffer.isBuffer(data)) data.copy(to, at);
  else to.set(data, at);
}
