import { OperationLatency } from '../src/engine/operation-latency.js';
import { LogHistogram } from '../src/util/log-histogram.js';

/**
 * Micro benchmark of the always-on latency histograms (src/util/log-histogram.ts): the cost
 * of one LogHistogram.add, and of one timed operation as the engine records it
 * (performance.now() at the start, OperationLatency.since at the end), against the bare
 * performance.now() pair. `node dist/bench/histogram.js [records]`. Not a timed test.
 */

const RECORDS = Number(process.argv[2] ?? 20_000_000);
const ROUNDS = 5;

/** Values spread over 1 us .. 100 ms, as latencies in microseconds are. */
const values = Float64Array.from({ length: 4096 }, (_, i) => Math.exp((i % 4096) * (Math.log(100_000) / 4096)));

function nsPer(label: string, run: () => number): void {
  const best: number[] = [];
  let sink = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    sink += run();
    best.push(Number(process.hrtime.bigint() - t0) / RECORDS);
  }
  best.sort((a, b) => a - b);
  console.log(`${label.padEnd(52)} ${best[0]!.toFixed(1).padStart(6)} ns (median of ${ROUNDS} rounds ${best[ROUNDS >> 1]!.toFixed(1)})${sink === -1 ? '!' : ''}`);
}

nsPer('loop alone (baseline)', () => {
  let s = 0;
  for (let i = 0; i < RECORDS; i++) s += values[i & 4095]!;
  return s;
});

const h = new LogHistogram();
nsPer('LogHistogram.add', () => {
  for (let i = 0; i < RECORDS; i++) h.add(values[i & 4095]!);
  return h.count;
});

nsPer('performance.now() twice', () => {
  let s = 0;
  for (let i = 0; i < RECORDS; i++) {
    const t0 = performance.now();
    s += performance.now() - t0;
  }
  return s;
});

const lat = new OperationLatency();
nsPer('timed operation: performance.now() + OperationLatency.since', () => {
  for (let i = 0; i < RECORDS; i++) {
    const t0 = performance.now();
    lat.since('get', t0);
  }
  return lat.us.get.count;
});

nsPer('sampled get: startGet + endGet (1 in GET_SAMPLE_EVERY timed)', () => {
  for (let i = 0; i < RECORDS; i++) lat.endGet(lat.startGet());
  return lat.gets;
});

const p0 = process.hrtime.bigint();
for (let i = 0; i < 1000; i++) h.summary(1000);
console.log(`${'summary() (p50, p90, p99 over 464 buckets)'.padEnd(52)} ${(Number(process.hrtime.bigint() - p0) / 1000 / 1000).toFixed(1).padStart(6)} us`);
