/**
 * The record cache: records appended but not yet written, already encoded in the
 * buffers they will be written from, cut into groups of at most groupCommitBytesMax
 * bytes as they arrive. Buffers are pooled, so steady-state appends do not allocate.
 */

import { Buffer } from 'node:buffer';
import { assert } from '../assert.js';
import type { RecordType } from '../format/constants.js';
import { RecordBatch } from './record-batch.js';
import { recordBytes, writeRecordBody, type RecordData } from './record-codec.js';

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

  /**
   * Copies (or encodes) the record in and returns the group it will be written with. When
   * the encoding throws, nothing changed: a group opened for it is dropped, never queued
   * empty (the writer would write it and take its lastLsn 0 for the log's).
   */
  add(type: RecordType, lsn: number, dbOffset: number, data: RecordData): RecordBatch {
    const n = recordBytes(data.byteLength);
    const filling = this.filling;
    const fresh = filling === undefined || filling.used + n > this.groupCommitBytesMax;
    const b = fresh ? this.newBatch(n) : filling;
    if (b.used + n > b.buf.byteLength) this.grow(b, b.used + n);
    writeRecordBody(b.buf, b.used, type, lsn, dbOffset, data);
    if (fresh) {
      this.queue.push(b);
      this.filling = b;
    }
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

  /** A group with room for its first record, not queued yet. */
  private newBatch(firstRecordBytes: number): RecordBatch {
    const size = Math.max(Math.min(this.groupCommitBytesMax, BATCH_BYTES_INITIAL), firstRecordBytes);
    const pooled = this.pool.pop();
    if (pooled !== undefined && pooled.byteLength >= firstRecordBytes) return new RecordBatch(pooled);
    if (pooled !== undefined) this.pool.push(pooled);
    // Buffers, not Uint8Arrays: records are encoded straight into them (Buffer's UTF-8 writes).
    return new RecordBatch(Buffer.alloc(size));
  }

  private grow(b: RecordBatch, bytes: number): void {
    const cap = Math.max(bytes, Math.min(b.buf.byteLength * 2, this.groupCommitBytesMax));
    const grown = Buffer.alloc(cap);
    grown.set(b.bytes());
    b.buf = grown;
  }
}
