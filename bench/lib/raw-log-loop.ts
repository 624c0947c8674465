import { close, fdatasync, open, writev } from 'node:fs';
import { promisify } from 'node:util';
import { LatencyRecorder, type LatencySummary } from './latency-recorder.js';
import { watchLoopDelay, type LoopDelaySummary } from './loop-delay.js';

const openAsync = promisify(open);
const writevAsync = promisify(writev);
const fdatasyncAsync = promisify(fdatasync);
const closeAsync = promisify(close);

export interface RawLoopResult {
  writers: number;
  recordBytes: number;
  ops: number;
  seconds: number;
  opsPerSec: number;
  /** fdatasyncs issued: ops / groups is the mean group size */
  groups: number;
  latency: LatencySummary;
  /** event-loop delay while the loop ran */
  loopDelay: LoopDelaySummary;
}

/**
 * The ceiling for a durable append log in Node: `writers` clients each append a record and
 * wait for it; one loop takes every record waiting, writes them with one writev at the end
 * of the file and one fdatasync, then answers them all (group commit, nothing else).
 */
export async function rawLogLoop(path: string, writers: number, recordBytes: number, durationMs: number): Promise<RawLoopResult> {
  const fd = await openAsync(path, 'w');
  const record = Buffer.alloc(recordBytes, 0x42);
  const rec = new LatencyRecorder(1 << 20);
  let waiting: { resolve: () => void }[] = [];
  let wake: (() => void) | undefined;
  let position = 0;
  let groups = 0;
  let ops = 0;
  let stop = false;
  const loop = async (): Promise<void> => {
    while (!stop || waiting.length > 0) {
      if (waiting.length === 0) {
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
        continue;
      }
      const batch = waiting;
      waiting = [];
      const buffers = batch.map(() => record);
      await writevAsync(fd, buffers, position);
      position += recordBytes * batch.length;
      await fdatasyncAsync(fd);
      groups++;
      for (const w of batch) w.resolve();
    }
  };
  const append = (): Promise<void> =>
    new Promise<void>((resolve) => {
      waiting.push({ resolve });
      wake?.();
    });
  const loopDelay = watchLoopDelay();
  const t0 = performance.now();
  const endAt = t0 + durationMs;
  const writer = async (): Promise<void> => {
    while (performance.now() < endAt) {
      const t = performance.now();
      await append();
      rec.record(performance.now() - t);
      ops++;
    }
  };
  const looping = loop();
  await Promise.all(Array.from({ length: writers }, writer));
  const seconds = (performance.now() - t0) / 1000;
  const delay = loopDelay();
  stop = true;
  wake?.();
  await looping;
  await closeAsync(fd);
  return { writers, recordBytes, ops, seconds, opsPerSec: ops / seconds, groups, latency: rec.summary(), loopDelay: delay };
}
