import { assert } from '../assert.js';

/**
 * Fixed-size columns of chart points: once `capacity` points are held, each new one
 * overwrites the oldest. Memory is allocated once, `capacity` doubles per column.
 */
export class SeriesRing<K extends string> {
  private readonly columns: Record<K, Float64Array>;
  private next = 0;
  size = 0;

  constructor(
    readonly names: readonly K[],
    readonly capacity: number,
  ) {
    assert(capacity >= 1, `series capacity ${capacity}`);
    this.columns = Object.fromEntries(names.map((n) => [n, new Float64Array(capacity)])) as Record<K, Float64Array>;
  }

  push(point: Readonly<Record<K, number>>): void {
    for (const n of this.names) this.columns[n][this.next] = point[n];
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
  }

  /** Every column, oldest point first. */
  toColumns(): Record<K, number[]> {
    const start = (this.next - this.size + this.capacity) % this.capacity;
    const out = {} as Record<K, number[]>;
    for (const n of this.names) {
      const c = this.columns[n];
      out[n] = Array.from({ length: this.size }, (_, i) => c[(start + i) % this.capacity]!);
    }
    return out;
  }
}
