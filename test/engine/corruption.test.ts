/**
 * Corruption is never silent (kind: unit, engine recovery on the simulated file layer).
 * Each test damages a store the way the fuzzer did when it found the bug, and checks the
 * damage is repaired or reported, never silently lost or resurrected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { isSessiondError } from '../../src/errors.js';
import { readLog } from '../../src/log/log-reader.js';
import { verifyStore } from '../../src/cli/verify-store.js';
import { parsePayloadId, readImageHead } from '../../src/db/image-codec.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import { DB_BLOCK_BYTES, DB_FIRST_DATA_OFFSET } from '../../src/format/constants.js';
import { CLOCK_START_MS, engineOptions, runWorkload, STORE_DIR } from '../crash/crash-harness.js';

const LOG0 = join(STORE_DIR, 'log-0');
const LOG1 = join(STORE_DIR, 'log-1');
const DB = join(STORE_DIR, 'sessions.db');

function id(n: number): string {
  return `session-${String(n).padStart(8, '0')}`;
}

function open(fs: SimFileSystem, salvage = false): Promise<SessionEngine> {
  return SessionEngine.open({ ...engineOptions(fs, new ManualClock()), logSwapBytes: 1 << 20, salvage });
}

function patch(fs: SimFileSystem, path: string, at: number, f: (b: number) => number): void {
  const b = fs.readFileSync(path).slice();
  b[at] = f(b[at]!);
  fs.writeFileSync(path, b);
}

/** 20 acknowledged saves, then 10 acknowledged destroys, nothing flushed: the log alone holds them. Then power loss. */
async function unflushedStore(): Promise<SimFileSystem> {
  const fs = new SimFileSystem();
  const e = await open(fs);
  for (let i = 0; i < 20; i++) await e.save(id(i), { attributes: { n: String(i) } });
  for (let i = 0; i < 10; i++) await e.destroy(id(i));
  const survivor = fs.crash(1);
  await e.close().catch(() => undefined);
  return survivor;
}

test('a flipped reserved byte in the log header is repaired from the records: no acknowledged save lost, no destroyed session back', async () => {
  const fs = await unflushedStore();
  const active = (await readLog(fs, LOG0, { salvage: true, recordBytesMax: 1 << 20 }, () => {})).records > 0 ? LOG0 : LOG1;
  patch(fs, active, 100, (b) => b ^ 0x04);
  const e = await open(fs);
  try {
    assert.deepEqual(e.ids().sort(), Array.from({ length: 10 }, (_, i) => id(i + 10)));
    assert.equal(e.recovery.repaired.length, 1);
    assert.equal(e.recovery.repaired[0]!.file, active);
  } finally {
    await e.close();
  }
});

test('a log header whose salt is destroyed in front of its records is SESSIOND_LOG_CORRUPT (never "unallocated"), and verify reports it', async () => {
  const fs = await unflushedStore();
  const active = (await readLog(fs, LOG0, { salvage: true, recordBytesMax: 1 << 20 }, () => {})).records > 0 ? LOG0 : LOG1;
  const b = fs.readFileSync(active).slice();
  b.fill(0, 0, 512);
  fs.writeFileSync(active, b);
  // The header alone destroyed: the records still vouch for the salt (two agree).
  const e = await open(fs);
  assert.equal(e.ids().length, 10);
  await e.close();
  // Records gone too: nothing can vouch.
  const fs2 = await unflushedStore();
  const c = fs2.readFileSync(active).slice();
  c.fill(0, 0, 700);
  fs2.writeFileSync(active, c);
  await assert.rejects(open(fs2), (err) => isSessiondError(err, 'SESSIOND_LOG_CORRUPT') && err.context.file === active);
  const v = await verifyStore(fs2, STORE_DIR);
  assert.equal(v.ok, false);
  assert.ok(v.logs.some((l) => l.file === active && l.problems.length > 0));
});

/** A workload whose power loss left both logs holding records the database does not. */
async function twoLogStore(): Promise<{ fs: SimFileSystem; older: string; firstOffset: number }> {
  for (let seed = 1; seed < 200; seed++) {
    const fs0 = new SimFileSystem(seed);
    const run = await runWorkload(fs0, { seed, steps: 30, clock: new ManualClock(CLOCK_START_MS, { timers: true }) });
    const fs = fs0.crash(seed);
    await run.engine?.close().catch(() => undefined);
    const v = await verifyStore(fs, STORE_DIR);
    const withRecords = v.logs.filter((l) => l.records > 0).sort((a, b) => a.generation! - b.generation!);
    if (withRecords.length < 2) continue;
    const older = withRecords[0]!.file;
    const appliedLsn = await dbAppliedLsn(fs);
    let firstOffset = -1;
    await readLog(fs, older, { salvage: true, recordBytesMax: 1 << 20 }, (rec, offset) => {
      if (firstOffset < 0 && rec.lsn > appliedLsn) firstOffset = offset;
    });
    if (firstOffset > 0) return { fs, older, firstOffset };
  }
  throw new Error('no seed left two logs with unfolded records');
}

async function dbAppliedLsn(fs: SimFileSystem): Promise<number> {
  const e = await open(copy(fs));
  const lsn = e.recovery.db.census?.appliedLsn ?? 0;
  await e.close();
  return lsn;
}

function copy(fs: SimFileSystem): SimFileSystem {
  const out = new SimFileSystem();
  for (const p of [LOG0, LOG1, DB]) if (fs.exists(p)) out.writeFileSync(p, fs.readFileSync(p));
  return out;
}

test('the older log cut short while the newer log holds later records is an LSN gap: SESSIOND_LOG_CORRUPT naming the older log', async () => {
  const { fs, older, firstOffset } = await twoLogStore();
  fs.writeFileSync(older, fs.readFileSync(older).subarray(0, firstOffset + 10));
  await assert.rejects(open(copy(fs)), (e) => {
    assert.ok(isSessiondError(e, 'SESSIOND_LOG_CORRUPT'), String(e));
    assert.equal(e.context.file, older);
    assert.equal(e.context.offset, firstOffset);
    assert.ok(Number(e.context.toLsn) >= Number(e.context.fromLsn));
    return true;
  });
  const v = await verifyStore(fs, STORE_DIR);
  assert.equal(v.ok, false);
  const salvaged = await open(copy(fs), true);
  assert.ok(salvaged.recovery.corruption.some((c) => c.file === older && /missing/.test(c.detail ?? '')));
  await salvaged.close();
});

/** 20 sessions flushed into sessions.db, cleanly closed. */
async function flushedStore(): Promise<SimFileSystem> {
  const fs = new SimFileSystem();
  const e = await open(fs);
  for (let i = 0; i < 20; i++) await e.save(id(i), { attributes: { n: String(i) } });
  await e.flush();
  await e.close();
  return fs;
}

function imageOffsets(fs: SimFileSystem): number[] {
  const b = fs.readFileSync(DB);
  const out: number[] = [];
  for (let at = DB_FIRST_DATA_OFFSET; at + 24 <= b.byteLength; at += DB_BLOCK_BYTES) if (readImageHead(b, at)) out.push(at);
  return out;
}

/** The session an image holds, read from its payload (tests only: the damage comes after). */
function imageIds(fs: SimFileSystem): Map<number, string> {
  const b = fs.readFileSync(DB);
  const out = new Map<number, string>();
  for (const at of imageOffsets(fs)) out.set(at, parsePayloadId(b, at + 24, readImageHead(b, at)!.dataBytes) ?? '');
  return out;
}

test('a flipped bit inside a session image whose PUT is still in a log is redone from the log: the open goes on and reports it repaired', async () => {
  const fs = await flushedStore();
  const at = imageOffsets(fs)[3]!;
  patch(fs, DB, at + 60, (b) => b ^ 0x01);
  const v = await verifyStore(fs, STORE_DIR);
  assert.equal(v.ok, true);
  assert.deepEqual(v.database.problems, []);
  assert.match(v.database.warnings.join('\n'), /^missing-images at byte \d+: repairable \(the logs redo session-\d{8}\)/);
  const e = await open(copy(fs));
  try {
    assert.equal(e.ids().length, 20);
    for (let i = 0; i < 20; i++) assert.equal(attributesFromBlob(e.get(id(i))!.attrs).get('n'), String(i));
    assert.deepEqual(e.recovery.corruption, []);
    assert.deepEqual(e.recovery.sessionsDropped, []);
    const fixed = e.recovery.repaired.filter((r) => r.file === DB);
    assert.equal(fixed.length, 1);
    assert.equal(fixed[0]!.offset, at);
    assert.match(fixed[0]!.detail, /session-\d{8} redone from the logs/);
  } finally {
    await e.close();
  }
});

test('a damaged image is redone from its latest PUT in the log and every later PATCH, all folded into the database already', async () => {
  const fs = new SimFileSystem();
  const e = await open(fs);
  for (let i = 0; i < 5; i++) await e.save(id(i), { attributes: { n: String(i) } });
  await e.flush();
  for (let k = 1; k <= 3; k++) await e.save(id(2), { attributes: { n: '2', k: String(k) } }); // PATCH records
  await e.flush();
  await e.close();
  const at = [...imageIds(fs)].find(([, s]) => s === id(2))![0];
  patch(fs, DB, at + 60, (b) => b ^ 0x01);
  const again = await open(copy(fs));
  try {
    assert.deepEqual(attributesFromBlob(again.get(id(2))!.attrs), new Map([['n', '2'], ['k', '3']]));
    assert.equal(again.ids().length, 5);
    assert.equal(again.recovery.repaired.filter((r) => r.file === DB).length, 1);
  } finally {
    await again.close();
  }
});

/** 20 sessions flushed, then enough other writes that the logs holding their records are released. */
async function releasedStore(): Promise<SimFileSystem> {
  const fs = new SimFileSystem();
  const e = await SessionEngine.open({ ...engineOptions(fs, new ManualClock()), logSwapBytes: 4096 });
  for (let i = 0; i < 20; i++) await e.save(id(i), { attributes: { n: String(i) } });
  await e.flush();
  for (let k = 0; k < 120; k++) {
    await e.save(id(100 + (k % 5)), { attributes: { k: String(k), pad: 'y'.repeat(100) } });
    if (k % 10 === 9) await e.flush();
  }
  await e.flush();
  await e.close();
  return fs;
}

test('a flipped bit inside a session image whose records were all released is SESSIOND_DB_CORRUPT naming the offset and the session; salvage lists it dropped', async () => {
  const fs = await releasedStore();
  const ids = imageIds(fs);
  const at = [...ids].find(([, s]) => s === id(3))![0];
  patch(fs, DB, at + 60, (b) => b ^ 0x01);
  await assert.rejects(open(copy(fs)), (e) => {
    assert.ok(isSessiondError(e, 'SESSIOND_DB_CORRUPT'), String(e));
    assert.equal(e.context.file, DB);
    assert.equal(e.context.offset, at);
    assert.equal(e.context.sessionsMissing, 1);
    assert.equal(e.context.sessions, id(3));
    return true;
  });
  const v = await verifyStore(fs, STORE_DIR);
  assert.equal(v.ok, false);
  assert.match(v.database.problems.join('\n'), /missing-images at byte \d+: damaged: /);
  const s = await open(copy(fs), true);
  assert.equal(s.ids().length, 24);
  assert.deepEqual(s.recovery.sessionsDropped, [id(3)]);
  assert.deepEqual(s.recovery.repaired.filter((r) => r.file === DB), []);
  await s.close();
});

test('sessions.db truncated to half, or an image head zeroed, is SESSIOND_DB_CORRUPT, and the log that still held the sessions is not reset', async () => {
  const fs = await flushedStore();
  const half = copy(fs);
  half.writeFileSync(DB, fs.readFileSync(DB).subarray(0, Math.floor(fs.readFileSync(DB).byteLength / 2)));
  const logBefore = half.readFileSync(LOG0);
  await assert.rejects(open(half), (e) => isSessiondError(e, 'SESSIOND_DB_CORRUPT') && e.context.file === DB);
  assert.deepEqual(half.readFileSync(LOG0), logBefore, 'a refused open changes nothing');
  assert.equal((await verifyStore(half, STORE_DIR)).ok, false);
  const zeroed = copy(fs);
  const at = imageOffsets(fs)[5]!;
  for (let i = 0; i < 4; i++) patch(zeroed, DB, at + i, () => 0);
  await assert.rejects(open(zeroed), (e) => isSessiondError(e, 'SESSIOND_DB_CORRUPT'));
});

test('damage to a log whose records are all in the database already is a warning: the open goes on with every session', async () => {
  const fs = await flushedStore();
  const recs: number[] = [];
  const log = (await readLog(fs, LOG0, { salvage: true, recordBytesMax: 1 << 20 }, (_r, o) => recs.push(o))).records > 0 ? LOG0 : LOG1;
  if (log === LOG1) await readLog(fs, LOG1, { salvage: true, recordBytesMax: 1 << 20 }, (_r, o) => recs.push(o));
  patch(fs, log, recs[5]! + 60, (b) => b ^ 0xff);
  const e = await open(copy(fs));
  try {
    assert.equal(e.ids().length, 20);
    assert.equal(e.recovery.warnings.length, 1);
    assert.equal(e.recovery.warnings[0]!.file, log);
    assert.deepEqual(e.recovery.corruption, []);
  } finally {
    await e.close();
  }
  const v = await verifyStore(fs, STORE_DIR);
  assert.equal(v.ok, true);
  assert.ok(v.logs.some((l) => l.warnings.length > 0));
});

test("a released log's firstLsn vouches for the records before it: cutting them from the older log is SESSIOND_LOG_CORRUPT", async () => {
  for (let seed = 1; seed < 300; seed++) {
    const fs0 = new SimFileSystem(seed);
    const run = await runWorkload(fs0, { seed, steps: 30, clock: new ManualClock(CLOCK_START_MS, { timers: true }) });
    const fs = fs0.crash(seed);
    await run.engine?.close().catch(() => undefined);
    const logs = [];
    for (const file of [LOG0, LOG1]) {
      const lsns: Array<{ lsn: number; offset: number }> = [];
      const r = await readLog(fs, file, { salvage: true, recordBytesMax: 1 << 20 }, (rec, offset) => lsns.push({ lsn: rec.lsn, offset }));
      if (r.header !== undefined) logs.push({ file, header: r.header, lsns });
    }
    if (logs.length < 2) continue;
    logs.sort((a, b) => a.header.generation - b.header.generation);
    const [older, newer] = logs as [(typeof logs)[0], (typeof logs)[0]];
    if (newer.lsns.length > 0) continue; // only the header can vouch here
    const appliedLsn = await dbAppliedLsn(fs);
    const cut = older.lsns.find((r) => r.lsn > appliedLsn && r.lsn < newer.header.firstLsn);
    if (cut === undefined) continue;
    fs.writeFileSync(older.file, fs.readFileSync(older.file).subarray(0, cut.offset));
    await assert.rejects(open(copy(fs)), (e) => {
      assert.ok(isSessiondError(e, 'SESSIOND_LOG_CORRUPT'), String(e));
      assert.equal(e.context.file, older.file);
      assert.equal(e.context.vouchedBy, newer.file);
      return true;
    });
    assert.equal((await verifyStore(fs, STORE_DIR)).ok, false);
    return;
  }
  assert.fail('no seed left a released log vouching for unfolded records of the older log');
});
