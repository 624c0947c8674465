/** The last `capacity` latency samples, for percentiles without unbounded memory. */
export class LatencyRing {
  private readonly samples: Float64Array;
  private next = 0;
  private filled = 0;
  total = 0;

  constructor(capacity = 1024) {
    this.samples = new Float64Array(capacity);
  }

  add(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    if (this.filled < this.samples.length) this.filled++;
    this.total++;
  }

  /** Percentiles over the samples held (nearest rank); zeros when empty. */
  summary(): { samples: number; p50: number; p90: number; p99: number; max: number } {
    if (this.filled === 0) return { samples: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    const s = this.samples.slice(0, this.filled).sort();
    const at = (q: number): number => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
    return { samples: this.total, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s[s.length - 1]! };
  }
}
