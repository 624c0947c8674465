/** The write-back journal `global-pending` (kind: unit, simulated file layer with power loss; docs/format.md §9). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { isSessiondError } from '../../src/errors.js';
import { PendingJournal, PENDING_FILE } from '../../src/global/pending-journal.js';
import { Gate, wrapFileSystem } from '../support/wrap-file-system.js';

const now = (): number => 0;
async function fresh(): Promise<SimFileSystem> {
  const fs = new SimFileSystem(1);
  await fs.mkdir('/s');
  await fs.syncDir('/');
  return fs;
}

test('an addition is durable once add() resolves: it survives a power loss, in order', async () => {
  const fs = await fresh();
  const j = await PendingJournal.open(fs, '/s', now);
  await j.add('aaaa');
  await j.add('bbbb');
  await j.add('aaaa'); // already pending: nothing written
  const after = await PendingJournal.open(fs.crash(5), '/s', now);
  assert.deepEqual(after.list().map(([id]) => id), ['aaaa', 'bbbb']);
});

test('a removal is durable after the next sync; before it, a power loss may keep the session pending (never the reverse)', async () => {
  for (let seed = 0; seed < 20; seed++) {
    const fs = await fresh();
    const j = await PendingJournal.open(fs, '/s', now);
    await j.add('aaaa');
    await j.add('bbbb');
    j.remove('aaaa');
    const lost = await PendingJournal.open(fs.peekCrash(seed), '/s', now);
    assert.ok(lost.list().some(([id]) => id === 'bbbb'), 'a synced addition is never lost');
    await j.sync();
    const kept = await PendingJournal.open(fs.crash(seed), '/s', now);
    assert.deepEqual(kept.list().map(([id]) => id), ['bbbb']);
  }
});

test('a torn last line is dropped; a bad line before it is corruption, refused with a typed error', async () => {
  const fs = await fresh();
  fs.writeFileSync(`/s/${PENDING_FILE}`, Buffer.from('sessiond-pending 1\np "aaaa"\np "bb'));
  const j = await PendingJournal.open(fs, '/s', now);
  assert.deepEqual(j.list().map(([id]) => id), ['aaaa']);
  await j.close();
  const bad = await fresh();
  bad.writeFileSync(`/s/${PENDING_FILE}`, Buffer.from('sessiond-pending 1\nx "aaaa"\np "bbbb"\n'));
  await assert.rejects(PendingJournal.open(bad, '/s', now), (e: unknown) => isSessiondError(e, 'SESSIOND_RECORD_CORRUPT'));
  const foreign = await fresh();
  foreign.writeFileSync(`/s/${PENDING_FILE}`, Buffer.from('something else\n'));
  await assert.rejects(PendingJournal.open(foreign, '/s', now), (e: unknown) => isSessiondError(e, 'SESSIOND_RECORD_CORRUPT'));
});

test('opening rewrites the file with the live entries only', async () => {
  const fs = await fresh();
  const j = await PendingJournal.open(fs, '/s', now);
  for (let i = 0; i < 50; i++) await j.add(`id${i}`);
  for (let i = 0; i < 49; i++) j.remove(`id${i}`);
  await j.sync();
  await PendingJournal.open(fs, '/s', now);
  assert.equal(Buffer.from(fs.readFileSync(`/s/${PENDING_FILE}`)).toString(), 'sessiond-pending 1\np "id49"\n');
});

test('an ID may hold any character: spaces, newlines, quotes and backslashes survive a reopen', async () => {
  const fs = await fresh();
  const j = await PendingJournal.open(fs, '/s', now);
  const ids = ['a b', 'line\nbreak', 'q"uo\\te', 'tab\there', 'é ü 😀'];
  for (const id of ids) await j.add(id);
  j.remove('a b');
  await j.sync();
  const after = await PendingJournal.open(fs.crash(3), '/s', now);
  assert.deepEqual(after.list().map(([id]) => id), ids.slice(1));
  const bare = await fresh();
  bare.writeFileSync(`/s/${PENDING_FILE}`, Buffer.from('sessiond-pending 1\np aaaa\n'));
  await assert.rejects(PendingJournal.open(bare, '/s', now), (e: unknown) => isSessiondError(e, 'SESSIOND_RECORD_CORRUPT'), 'an ID not in JSON form is corruption');
});

test('a session written back keeps its mark (settle): not pending, its next change needs no fdatasync, and a power loss replays it as pending', async () => {
  const sim = await fresh();
  let syncs = 0;
  const fs = wrapFileSystem(sim, (_path, h) => ({ datasync: () => (syncs++, h.datasync()) }));
  const j = await PendingJournal.open(fs, '/s', now);
  await j.add('aaaa');
  j.settle('aaaa');
  assert.deepEqual([j.count, j.settledCount, j.get('aaaa')], [0, 1, undefined], 'written back: not pending, mark kept');
  const before = syncs;
  await j.add('aaaa');
  assert.equal(syncs, before, 'its mark is in the file already');
  assert.deepEqual([j.count, j.settledCount], [1, 0]);
  const after = await PendingJournal.open(sim.crash(5), '/s', now);
  assert.deepEqual(after.list().map(([id]) => id), ['aaaa']);
});

test('dropSettled drops the marks settled at least that long ago, oldest first; once synced a power loss no longer replays them', async () => {
  const fs = await fresh();
  let t = 0;
  const j = await PendingJournal.open(fs, '/s', () => t);
  for (const id of ['aaaa', 'bbbb', 'cccc']) await j.add(id);
  j.settle('aaaa');
  t = 50;
  j.settle('bbbb');
  t = 100;
  j.dropSettled(60); // aaaa settled 100 ms ago, bbbb 50
  assert.equal(j.settledCount, 1);
  await j.sync();
  const after = await PendingJournal.open(fs.peekCrash(3), '/s', now);
  assert.deepEqual(after.list().map(([id]) => id), ['bbbb', 'cccc']);
  j.dropSettled(0);
  j.remove('cccc');
  await j.sync();
  const empty = await PendingJournal.open(fs.crash(4), '/s', now);
  assert.equal(empty.count, 0);
});

test("a change of a session whose mark is still on its way to disk waits for it, pending or settled", async () => {
  const sim = await fresh();
  const gate = new Gate();
  const fs = wrapFileSystem(sim, (_path, h) => ({ datasync: async () => (await gate.pass(), h.datasync()) }));
  const j = await PendingJournal.open(fs, '/s', now);
  gate.close();
  const first = j.add('aaaa');
  const second = j.add('bbbb');
  j.settle('bbbb'); // written back before its mark was durable
  let done = 0;
  const again = [j.add('aaaa'), j.add('bbbb')].map((p) => p.then(() => done++));
  await new Promise((r) => setImmediate(r));
  assert.equal(done, 0, 'neither is acknowledged before its mark is durable');
  gate.open();
  await Promise.all([first, second, ...again]);
  assert.equal(done, 2);
});

test('compaction keeps the IDs in JSON form (pending and settled), so the file opens again', async () => {
  const fs = await fresh();
  const j = await PendingJournal.open(fs, '/s', now);
  await j.add('a b\n"c"');
  await j.add('kept one');
  j.settle('kept one');
  const churn = 'x'.repeat(200);
  for (let i = 0; i < 2700; i++) {
    await j.add(`${churn}${i}`);
    j.remove(`${churn}${i}`);
  }
  await j.sync();
  assert.ok(Buffer.from(fs.readFileSync(`/s/${PENDING_FILE}`)).length < 1 << 20, 'compacted');
  const after = await PendingJournal.open(fs.crash(2), '/s', now);
  assert.deepEqual(after.list().map(([id]) => id), ['a b\n"c"', 'kept one']);
});
