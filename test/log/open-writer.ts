// Test support (the log writer tests): a LogWriter on a fresh simulated file layer, with
// group commit, swaps and queue bounds large enough that only what a test sets matters,
// and what it reports (swaps, fatal failures, groups) collected.
import { ManualClock } from '../../src/clock.js';
import type { SessiondError } from '../../src/errors.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { LogWriter, type LogWriterOptions } from '../../src/log/log-writer.js';

export const DIR = '/store';
export const LOG0 = `${DIR}/log-0`;
export const LOG1 = `${DIR}/log-1`;
export const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
/** Lets queued simulated I/O and setImmediate group commits run (the sim never waits on real time). */
export const settle = async (turns = 20): Promise<void> => {
  for (let i = 0; i < turns; i++) await turn();
};

export interface Opened {
  w: LogWriter;
  sim: SimFileSystem;
  clock: ManualClock;
  swaps: Array<{ fromLog: number; lastLsn: number }>;
  fatals: SessiondError[];
  groups: Array<{ records: number; bytes: number }>;
}

export async function openWriter(over: Partial<LogWriterOptions> = {}, wrap?: (sim: SimFileSystem) => FileSystem): Promise<Opened> {
  const sim = new SimFileSystem();
  await sim.mkdir(DIR);
  await sim.syncDir('/'); // the directory's own entry, or a simulated crash takes it
  const clock = new ManualClock(undefined, { timers: true }); // advance() fires the 'interval' sync timer
  const swaps: Opened['swaps'] = [];
  const fatals: SessiondError[] = [];
  const groups: Opened['groups'] = [];
  const w = await LogWriter.create({
    fs: wrap ? wrap(sim) : sim,
    dir: DIR,
    clock,
    durability: 'fsync',
    fsyncIntervalMs: 1000,
    groupCommitBytesMax: 1 << 20,
    writeQueueBytesMax: 16 << 20,
    logSwapBytes: 1 << 30,
    logSwapMs: 1e9,
    nextLsn: 1,
    generation: 0,
    onSwap: (i) => swaps.push(i),
    onFatal: (e) => fatals.push(e),
    onGroup: (g) => groups.push({ records: g.records, bytes: g.bytes }),
    ...over,
  });
  return { w, sim, clock, swaps, fatals, groups };
}
