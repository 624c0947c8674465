/**
 * One write group in the making: the encoded records that will go out in one writev (and
 * one datasync), and the one promise every appender of the group waits on. Sharing the
 * promise keeps append free of a per-record promise and closure.
 */

const EMPTY = new Uint8Array(0);

export class RecordBatch {
  /** Records back to back from byte 0; sealed (generation, syncedBytes, crc) just before the write. */
  buf: Uint8Array;
  used = 0;
  records = 0;
  lastLsn = 0;
  /**
   * True once a record that waits for its own fdatasync joins (every append but a lazy
   * one, log-writer.ts): a group of lazy records only is written and synced later.
   */
  needsSync = false;
  readonly durable: Promise<void>;
  private settle!: (err?: Error) => void;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.durable = new Promise<void>((resolve, reject) => {
      this.settle = (err) => (err === undefined ? resolve() : reject(err));
    });
    // Appenders may drop `durable`; a fatal error must not become an unhandled rejection.
    void this.durable.catch(() => undefined);
  }

  /** The encoded records, ready for writev. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.used);
  }

  /** Hands the buffer back for reuse once its bytes are written. */
  detachBuffer(): Uint8Array {
    const b = this.buf;
    this.buf = EMPTY;
    return b;
  }

  resolve(): void {
    this.settle();
  }

  reject(err: Error): void {
    this.settle(err);
  }
}
