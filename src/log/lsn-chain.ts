/**
 * LSN continuity across the database and the logs (docs/format.md §4). LSNs are handed
 * out one by one and written in order, so the records after the database's appliedLsn
 * form one unbroken run through the logs, oldest generation first. A later log vouches
 * for everything before it twice: its header's firstLsn (every LSN below it was durable
 * when the log was reset) and its first record. A missing run is therefore damage, not a
 * torn tail: the older log lost acknowledged records.
 */

export interface LsnGap {
  /** The log that should hold the missing records (or the log that vouches, when no older log ended). */
  file: string;
  /** Where that log's valid records end. */
  offset: number;
  /** Bytes after `offset` in that file (its torn or damaged tail). */
  bytes: number;
  fromLsn: number;
  toLsn: number;
  /** The log whose header or first record vouches for the missing records. */
  vouchedBy: string;
}

export class LsnChain {
  private expected: number;
  private last: { file: string; offset: number; bytes: number } | undefined;
  private recordFile: string | undefined;

  constructor(readonly appliedLsn: number) {
    this.expected = appliedLsn + 1;
  }

  /** Next log (generation order): every LSN below its header's firstLsn must have been seen. */
  logStarts(file: string, firstLsn: number): LsnGap | undefined {
    return this.advance(file, firstLsn);
  }

  /**
   * A record of `file`, in order. Inside one log only damage that the reader reported
   * (salvage) or found folded skips LSNs, so only a log's first record is checked.
   */
  record(file: string, lsn: number): LsnGap | undefined {
    const gap = this.recordFile === file ? undefined : this.advance(file, lsn);
    this.expected = Math.max(this.expected, lsn + 1);
    this.recordFile = file;
    return gap;
  }

  /** The log just read ends at `offset` (its valid records), `bytes` before its end. */
  logEnds(file: string, offset: number, bytes: number): void {
    this.last = { file, offset, bytes };
  }

  private advance(file: string, lsn: number): LsnGap | undefined {
    if (lsn <= this.expected) return undefined;
    const at = this.last ?? { file, offset: 0, bytes: 0 };
    const gap = { ...at, fromLsn: this.expected, toLsn: lsn - 1, vouchedBy: file };
    this.expected = lsn;
    return gap;
  }
}
