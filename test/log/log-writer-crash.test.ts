// Crash simulation: a writer appends in random groups, swaps, releases, and the simulated
// disk loses power (or the process dies) at a random moment. The reader must then return
// every acknowledged record plus an in-order prefix of the rest: no holes, no record that
// was not written, never SESSIOND_LOG_CORRUPT. Each seed replays exactly.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.js';
import { LOG_FILE_NAMES, RecordType } from '../../src/format/constants.js';
import { SimFileSystem, type CrashMode } from '../../src/fs/sim-file-system.js';
import { LogWriter, type Durability } from '../../src/log/log-writer.js';
import { Prng } from '../../src/util/prng.js';
import { readAll, type ReadRecord } from './log-fixtures.js';

const DIR = '/store';
const SEEDS = Number(process.env.SESSIOND_LOG_CRASH_SEEDS ?? 300);
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

interface Written {
  type: RecordType;
  dbOffset: number;
  data: Uint8Array;
}

interface Outcome {
  written: Map<number, Written>;
  ackedMax: number;
  /** Every LSN up to here was (by the test's word) durable in the database before its log was released. */
  flushedMax: number;
  survivor: SimFileSystem;
}

/** One run: random appends over random turns; power loss at a random op or a random turn. */
async function run(seed: number, durability: Durability, mode: CrashMode): Promise<Outcome> {
  const rng = new Prng(seed);
  const sim = new SimFileSystem();
  await sim.mkdir(DIR);
  await sim.syncDir('/'); // the directory's own entry, or a simulated crash takes it
  const out: Outcome = { written: new Map(), ackedMax: 0, flushedMax: 0, survivor: sim };
  const w: LogWriter = await LogWriter.create({
    fs: sim, dir: DIR, clock: new ManualClock(), durability, fsyncIntervalMs: 1 + rng.int(3),
    groupCommitBytesMax: rng.pick([300, 1500, 1 << 16]), writeQueueBytesMax: 1 << 20,
    logSwapBytes: rng.pick([1200, 3000, 1 << 30]), logSwapMs: 1e9, nextLsn: 1, generation: rng.int(5),
    onSwap: ({ fromLog, lastLsn }) => {
      if (!rng.bool(0.7)) return; // sometimes the flush lags and the old log stays
      setImmediate(() => {
        out.flushedMax = Math.max(out.flushedMax, lastLsn);
        w.release(fromLog).catch(() => undefined);
      });
    },
  });
  const atOp = rng.bool() ? 1 + rng.int(40) : 0;
  if (atOp > 0) sim.crashAtOp(atOp, seed, { mode });
  const crashTurn = rng.int(25);
  for (let t = 0; t < 25 && !sim.crashed; t++) {
    if (atOp === 0 && t === crashTurn) break;
    for (let i = rng.int(8); i > 0 && !w.failed; i--) appendOne(w, rng, out);
    for (let k = rng.int(3); k > 0; k--) await turn();
  }
  if (!sim.crashed && atOp > 0) await w.drain().catch(() => undefined);
  out.survivor = sim.crashed ?? sim.crash(seed, { mode });
  await w.close().catch(() => undefined); // the crashed disk fails the close
  return out;
}

function appendOne(w: LogWriter, rng: Prng, out: Outcome): void {
  const rec: Written = { type: (1 + rng.int(4)) as RecordType, dbOffset: rng.int(1 << 20), data: rng.bytes(rng.int(400)) };
  try {
    const { lsn, durable } = w.append(rec.type, rec.data, rec.dbOffset);
    out.written.set(lsn, rec);
    durable.then(
      () => void (out.ackedMax = Math.max(out.ackedMax, lsn)),
      () => undefined,
    );
  } catch {
    // SESSIOND_READ_ONLY once the crash failed a write
  }
}

interface Coverage {
  tornTails: number;
  bothLogsHeldRecords: number;
  acknowledged: number;
}

/** Both logs, in generation order (the replay order, docs/format.md §4). */
async function recover(fs: SimFileSystem, cov: Coverage): Promise<ReadRecord[]> {
  const logs = [];
  for (const name of LOG_FILE_NAMES) logs.push(await readAll(fs, `${DIR}/${name}`));
  logs.sort((a, b) => (a.result.header?.generation ?? -1) - (b.result.header?.generation ?? -1));
  if (logs.some((l) => l.result.header !== undefined && l.result.tornBytes > 0)) cov.tornTails++;
  if (logs.every((l) => l.records.length > 0)) cov.bothLogsHeldRecords++;
  return logs.flatMap((l) => l.records);
}

function check(seed: number, o: Outcome, records: ReadRecord[], mustKeepAcked: boolean): void {
  const where = `seed ${seed}`;
  let prev = 0;
  for (const { rec } of records) {
    assert.ok(rec.lsn > prev, `${where}: lsn ${rec.lsn} after ${prev}`);
    prev = rec.lsn;
    const w = o.written.get(rec.lsn);
    assert.ok(w, `${where}: lsn ${rec.lsn} never written`);
    assert.deepEqual({ type: rec.type, dbOffset: rec.dbOffset, data: rec.data }, w, `${where}: lsn ${rec.lsn} differs`);
  }
  // What recovery ends up with: the database (everything up to flushedMax) plus the logs.
  let top = o.flushedMax;
  for (const { rec } of records) {
    if (rec.lsn <= o.flushedMax) continue;
    assert.equal(rec.lsn, top + 1, `${where}: hole before lsn ${rec.lsn}`);
    top = rec.lsn;
  }
  if (mustKeepAcked) assert.ok(top >= o.ackedMax, `${where}: acknowledged lsn ${o.ackedMax} lost (recovered up to ${top})`);
}

describe('log writer crash simulation', () => {
  const cases: Array<[Durability, CrashMode, boolean]> = [
    ['fsync', 'tear', true],
    ['fsync', 'drop-all', true],
    ['interval', 'keep-all', true],
    ['none', 'keep-all', true],
    ['interval', 'tear', false],
  ];
  for (const [durability, mode, mustKeepAcked] of cases) {
    it(`${durability} + ${mode} crash: acknowledged records plus an in-order prefix (${SEEDS} seeds)`, async () => {
      const cov: Coverage = { tornTails: 0, bothLogsHeldRecords: 0, acknowledged: 0 };
      for (let seed = 1; seed <= SEEDS; seed++) {
        const o = await run(seed, durability, mode);
        const records = await recover(o.survivor, cov);
        check(seed, o, records, mustKeepAcked);
        if (o.ackedMax > 0) cov.acknowledged++;
      }
      // The runs must reach what they are here to test: swaps, acknowledgements, torn writes.
      if (SEEDS >= 100) {
        assert.ok(cov.acknowledged > SEEDS / 4 && cov.bothLogsHeldRecords > 0, JSON.stringify(cov));
        if (mode === 'tear') assert.ok(cov.tornTails > 0, JSON.stringify(cov));
      }
    });
  }
});
