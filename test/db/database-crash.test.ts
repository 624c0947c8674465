// Crash simulation: a scripted sequence of batches (create, updates, deletes, reuse, tail
// shrink) is cut by a power loss at every op index, with several tear seeds and modes.
// After each crash the reopened file must hold, for every session, either its state after
// the last batch whose header is durable or its state after the next batch: never lost,
// and deleted sessions are never back once the header says the delete is applied.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DatabaseFile } from '../../src/db/database-file.js';
import type { CrashMode } from '../../src/fs/sim-file-system.js';
import type { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { batch, cloneSim, newSim, openCollect, sameBytes, sizedPayload } from './db-test-helpers.js';
import type { Img } from './db-test-helpers.js';

type State = Map<string, { lsn: number; data: Uint8Array }>;

const SCRIPT: Array<{ puts: Array<[string, number]>; deletes: string[] }> = [
  { puts: [['a', 100], ['b', 700], ['c', 1500]], deletes: [] },
  { puts: [['a', 900], ['d', 100]], deletes: ['b'] },
  { puts: [['b', 300], ['c', 200]], deletes: ['d'] },
  { puts: [['e', 2000]], deletes: ['a', 'c'] },
  { puts: [['a', 50]], deletes: ['e'] },
  // Sessions side by side, then some of them replaced or deleted: markers over extents that
  // touch share a zero-filled writev, those that do not go in flight together (db-state.ts).
  { puts: [['b', 600], ['c', 600], ['d', 600], ['e', 600]], deletes: [] },
  { puts: [['b', 700], ['d', 700]], deletes: ['a'] },
  { puts: [['c', 100]], deletes: ['b', 'd', 'e'] },
];

/** The batches with lsns, and the state after each (states[0] is the empty file). */
function plan(): { batches: ReturnType<typeof batch>[]; states: State[]; lsns: number[] } {
  const batches = [];
  const states: State[] = [new Map()];
  const lsns = [0];
  let lsn = 0;
  for (const step of SCRIPT) {
    const state: State = new Map(states.at(-1));
    const puts: Array<[string, number, Uint8Array]> = step.puts.map(([id, size]) => {
      const data = sizedPayload(id, size, 0x41 + (++lsn % 26));
      state.set(id, { lsn, data });
      return [id, lsn, data];
    });
    for (const id of step.deletes) state.delete(id);
    lsn += 1; // a DELETE record of its own
    batches.push(batch(puts, step.deletes, lsn));
    states.push(state);
    lsns.push(lsn);
  }
  return { batches, states, lsns };
}

const PLAN = plan();
const IDS = ['a', 'b', 'c', 'd', 'e', 'z'];

async function runScript(fs: SimFileSystem): Promise<void> {
  const { db } = await openCollect(fs);
  for (const b of PLAN.batches) {
    await db.writeBatch(b);
    db.checkInvariants();
  }
  await db.close();
}

/** Every session is in its `before` or `after` state; exactly `after` when `exact`. */
function checkBetween(images: Map<string, Img>, before: State, after: State | undefined, exact: boolean, where: string): void {
  for (const id of IDS) {
    const got = images.get(id);
    const matches = (s: State | undefined): boolean => {
      const want = s?.get(id);
      return want === undefined ? got === undefined : got !== undefined && got.lsn === want.lsn && sameBytes(got.data, want.data);
    };
    const ok = exact ? matches(after) : matches(before) || matches(after);
    assert.ok(ok, `${where}: session ${id} is ${got ? `lsn ${got.lsn}` : 'absent'}`);
  }
}

/** Reopens a survivor and checks it against the script; returns the open file and what it loaded. */
async function reopenAndCheck(fs: SimFileSystem, where: string): Promise<{ db: DatabaseFile; images: Map<string, Img> }> {
  const r = await openCollect(fs);
  const k = PLAN.lsns.indexOf(r.db.appliedLsn);
  assert.ok(k >= 0, `${where}: appliedLsn ${r.db.appliedLsn} is no batch's`);
  checkBetween(r.images, PLAN.states[k]!, PLAN.states[k + 1], false, where);
  return r;
}

async function countOps(run: (fs: SimFileSystem) => Promise<void>, fs?: SimFileSystem): Promise<number> {
  const sim = fs ?? (await newSim());
  const before = sim.opCount;
  await run(sim);
  return sim.opCount - before;
}

test('crash at every op of a batch sequence: each session is old or new, never lost, deletes stay', async () => {
  const total = await countOps(runScript);
  assert.ok(total > 30, `script has ${total} ops`);
  const modes: Array<[CrashMode, number]> = [['tear', 4], ['drop-all', 1], ['keep-all', 1]];
  for (const [mode, seeds] of modes) {
    for (let n = 1; n <= total; n++) {
      for (let seed = 0; seed < seeds; seed++) {
        const where = `mode ${mode} op ${n} seed ${seed}`;
        const fs = await newSim();
        fs.crashAtOp(n, seed * 1000 + n, { mode });
        await assert.rejects(runScript(fs), Error, where);
        const survivor = fs.crashed!;
        assert.ok(survivor, where);
        const r = await reopenAndCheck(survivor, where);
        // The recovered file takes writes, and what the follow-up deletes stays deleted.
        await r.db.writeBatch(batch([['z', 100, sizedPayload('z', 40)]], [...r.images.keys()], 100));
        r.db.checkInvariants();
        await r.db.close();
        const again = await openCollect(survivor);
        assert.deepEqual([...again.images.keys()], ['z'], where);
        await again.db.close();
      }
    }
  }
});

test('crash during the recovery open and its first flush: still old or new, and recovery repeats', async () => {
  const total = await countOps(runScript);
  // A few first-crash points spread over the script, each followed by a crash at every op of recovery.
  for (let n = 3; n <= total; n += 4) {
    const fs = await newSim();
    fs.crashAtOp(n, n);
    await assert.rejects(runScript(fs));
    const survivor = fs.crashed!;
    let s1: Map<string, Img> | undefined;
    let s2: State | undefined;
    const recover = async (sim: SimFileSystem): Promise<void> => {
      const r = await openCollect(sim);
      s1 ??= r.images;
      s2 ??= new Map([['z', { lsn: 100, data: sizedPayload('z', 40) }]]);
      await r.db.writeBatch(batch([['z', 100, sizedPayload('z', 40)]], [...r.images.keys()], 100));
      await r.db.close();
    };
    // Dry run on a copy to learn the recovery's op count and its loaded state.
    const copy = await cloneSim(survivor);
    const recoveryOps = await countOps(recover, copy);
    const before: State = new Map([...s1!].map(([id, img]) => [id, { lsn: img.lsn, data: img.data }]));
    for (let m = 1; m <= recoveryOps; m++) {
      const where = `first crash op ${n}, recovery crash op ${m}`;
      const sim = await cloneSim(survivor);
      sim.crashAtOp(m, m);
      await assert.rejects(recover(sim), Error, where);
      const r = await openCollect(sim.crashed!);
      checkBetween(r.images, before, s2, r.db.appliedLsn === 100, where);
      await r.db.close();
    }
  }
});
