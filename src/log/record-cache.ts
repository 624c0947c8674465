/**
 * The record cache: records appended but not yet written, already encoded in the
 * buffers they will be written from, cut into groups of at most groupCommitBytesMax
 * bytes as they arrive. Buffers are pooled, so steady-state appends do not allocate.
 */

import { assert } from '../assert.js';
import type { RecordType } from '../format/constants.js';
import { RecordBatch } from './record-batch.js';
import { recordBytes, writeRecordBody } from './record-codec.js';

/** A group buffer starts this small and doubles up to groupCommitBytesMax as records come. */
const BATCH_BYTES_INITIAL = 64 * 1024;
const POOL_BUFFERS_MAX = 4;

export class RecordCache {
  /** Oldest first; the last one may still be filling. */
  private readonly queue: RecordBatch[] = [];
  private filling: RecordBatch | undefined;
  private readonly pool: Uint8Array[] = [];
  /** Bytes appended whose write has not completed. */
  queuedBytes = 0;
  queuedRecords = 0;

  constructor(private readonly groupCommitBytesMax: number) {
    assert(Number.isSafeInteger(groupCommitBytesMax) && groupCommitBytesMax > 0, 'groupCommitBytesMax');
  }

  /** Copies the record in and returns the group it will be written with. */
  add(type: RecordType, lsn: number, dbOffset: number, data: Uint8Array): RecordBatch {
    const n = recordBytes(data.byteLength);
    let b = this.filling;
    if (b === undefined || b.used + n > this.groupCommitBytesMax) b = this.openBatch(n);
    if (b.used + n > b.buf.byteLength) this.grow(b, b.used + n);
    writeRecordBody(b.buf, b.used, type, lsn, dbOffset, data);
    b.used += n;
    b.records++;
    b.lastLsn = lsn;
    this.queuedBytes += n;
    this.queuedRecords++;
    return b;
  }

  /** The next group to write; records appended from now on go to a later group. */
  take(): RecordBatch | undefined {
    const b = this.queue.shift();
    if (b === this.filling) this.filling = undefined;
    return b;
  }

  /** The newest group not yet taken. */
  get newest(): RecordBatch | undefined {
    return this.queue[this.queue.length - 1];
  }

  /** A taken group's bytes are written: they leave the queue and its buffer is reused. */
  written(b: RecordBatch): void {
    this.queuedBytes -= b.used;
    this.queuedRecords -= b.records;
    const buf = b.detachBuffer();
    if (this.pool.length < POOL_BUFFERS_MAX && buf.byteLength <= Math.max(this.groupCommitBytesMax, BATCH_BYTES_INITIAL)) {
      this.pool.push(buf);
    }
  }

  /** Rejects every queued group (after a fatal failure) and empties the cache. */
  failAll(err: Error): void {
    for (const b of this.queue) b.reject(err);
    this.queue.length = 0;
    this.filling = undefined;
    this.queuedBytes = 0;
    this.queuedRecords = 0;
  }

  private openBatch(firstRecordBytes: number): RecordBatch {
    // add() grows a buffer that is too small for the first record.
    const size = Math.max(Math.min(this.groupCommitBytesMax, BATCH_BYTES_INITIAL), firstRecordBytes);
    const b = new RecordBatch(this.pool.pop() ?? new Uint8Array(size));
    this.queue.push(b);
    this.filling = b;
    return b;
  }

  private grow(b: RecordBatch, bytes: number): void {
    const cap = Math.max(bytes, Math.min(b.buf.byteLength * 2, this.groupCommitBytesMax));
    const grown = new Uint8Array(cap);
    grown.set(b.bytes());
    b.buf = grown;
  }
}
