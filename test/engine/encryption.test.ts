// Encryption at rest (SPEC B6, docs/format.md §3.7): unit and crash-simulation tests on
// the simulated file layer. No attribute byte in clear in any file, a changed sealed or
// bound byte is caught by the GCM tag (and handled like any corrupt record), a missing key
// is a typed error naming it, and key rotation survives crashes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { isSessiondError } from '../../src/errors.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { DB_BLOCK_BYTES, DB_HEADER, LOG_HEADER, LOG_HEADER_BYTES, RECORD, RecordType } from '../../src/format/constants.js';
import type { EngineOptionsInput } from '../../src/options.js';
import { K1, ONLY_K1, K1_K2, ONLY_K2 } from './key-rings.js';

const DIR = '/enc';
const MARKER = 'MARKER-7f3a-secret';

function opts(fs: SimFileSystem, clock: ManualClock, extra: Partial<EngineOptionsInput> = {}): EngineOptionsInput {
  return { dir: DIR, fs, clock, owner: 't', flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000, logSwapBytes: 4096, logSwapMs: 3_600_000, encryption: ONLY_K1, ...extra };
}

function everyFileHolds(fs: SimFileSystem, text: string): string[] {
  return fs.listSync(DIR).filter((f) => Buffer.from(fs.readFileSync(`${DIR}/${f}`)).includes(text));
}

/** Offset of the last record of `type` in a log, its length, and the log's salt. */
function lastRecord(fs: SimFileSystem, log: string, type: number): { b: Buffer; at: number; bytes: number; salt: number } {
  const b = Buffer.from(fs.readFileSync(`${DIR}/${log}`));
  const salt = b.readUInt32LE(LOG_HEADER.salt);
  let found: { b: Buffer; at: number; bytes: number; salt: number } | undefined;
  for (let at = LOG_HEADER_BYTES; at + 8 <= b.length; ) {
    const bytes = b.readUInt32LE(at + RECORD.recordBytes);
    if (bytes === 0) break;
    if (b[at + RECORD.type] === type) found = { b, at, bytes, salt };
    at += bytes;
  }
  if (found !== undefined) return found;
  throw new Error(`no record of type ${type} in ${log}`);
}

/**
 * Changes one byte of the last record of `type` (at `dataOff` of its payload, or the tag's
 * last byte) and recomputes its crc: damage only the GCM tag can see.
 */
function tamperRecord(fs: SimFileSystem, log: string, type: number, dataOff: (dataBytes: number) => number): void {
  const { b, at, bytes, salt } = lastRecord(fs, log, type);
  b[at + RECORD.data + dataOff(bytes - 56)]! ^= 0x01;
  b.writeUInt32LE(crc32(b.subarray(at, at + bytes - 8), salt), at + bytes - 8);
  fs.writeFileSync(`${DIR}/${log}`, b);
}

/** Changes byte `dataOff` of the first image's payload and recomputes the image crc. */
function tamperImage(fs: SimFileSystem, dataOff: (dataBytes: number) => number): void {
  const b = Buffer.from(fs.readFileSync(`${DIR}/sessions.db`));
  const salt = b.readUInt32LE(DB_HEADER.salt);
  const at = 2 * DB_BLOCK_BYTES;
  const n = b.readUInt32LE(at + 8);
  b[at + 24 + dataOff(n)]! ^= 0x01;
  b.writeUInt32LE(crc32(b.subarray(at, at + 24 + n), salt), at + 24 + n);
  fs.writeFileSync(`${DIR}/sessions.db`, b);
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<unknown> {
  let err: unknown;
  await p.then(
    (e) => (e as SessionEngine).close(),
    (e: unknown) => (err = e),
  );
  assert.ok(isSessiondError(err) && err.code === code, `expected ${code}, got ${String(err)}`);
  return err;
}

/** A store with one flushed session `a` and, after a process crash, a log holding PUT b and PATCH a. */
async function storeWithLogAndImage(fs0: SimFileSystem, clock: ManualClock): Promise<SimFileSystem> {
  const e = await SessionEngine.open(opts(fs0, clock));
  await e.save('a', { attributes: { secret: JSON.stringify(MARKER) } });
  await e.flush();
  await e.save('b', { attributes: { secret: JSON.stringify(MARKER + '-b') } });
  await e.patch('a', { set: { more: JSON.stringify(MARKER + '-patch') } });
  const fs = fs0.crash(1, { mode: 'keep-all' });
  await e.close().catch(() => undefined);
  return fs;
}

describe('encryption at rest', () => {
  it('never writes an attribute byte in clear: log, database, tombstones, while open and after close', async () => {
    const fs = new SimFileSystem(7);
    const clock = new ManualClock(1_700_000_000_000);
    const e = await SessionEngine.open(opts(fs, clock, { principal: 'user' }));
    for (let i = 0; i < 50; i++) await e.save(`s${i}`, { attributes: { user: JSON.stringify('u'), v: JSON.stringify(`${MARKER}-${i}`) } });
    for (let i = 0; i < 50; i += 3) await e.patch(`s${i}`, { set: { w: JSON.stringify(MARKER) }, remove: ['v'] });
    assert.deepEqual(everyFileHolds(fs, MARKER), [], 'records in the log');
    await e.flush();
    for (let i = 0; i < 10; i++) await e.destroy(`s${i}`);
    for (let i = 50; i < 80; i++) await e.save(`s${i}`, { attributes: { v: JSON.stringify(MARKER) } });
    assert.deepEqual(everyFileHolds(fs, MARKER), [], 'images and records');
    assert.equal(e.sessionsOf('u').length, 40);
    await e.close();
    assert.deepEqual(everyFileHolds(fs, MARKER), [], 'after close');
    assert.ok(fs.listSync(DIR).includes('sessions.db'));
    const again = await SessionEngine.open(opts(fs, clock));
    assert.equal(again.count(), 70);
    assert.ok(again.get('s60')!.attrs.includes(MARKER));
    await again.close();
  });

  it('without encryption the marker is in the files (the test above can fail)', async () => {
    const fs = new SimFileSystem(8);
    const e = await SessionEngine.open(opts(fs, new ManualClock(1_700_000_000_000), { encryption: undefined }));
    await e.save('a', { attributes: { v: JSON.stringify(MARKER) } });
    assert.notDeepEqual(everyFileHolds(fs, MARKER), []);
    await e.close();
  });

  it('a changed ciphertext byte in a log record (crc made valid) is a corrupt record: refused, or dropped by salvage', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const fs = await storeWithLogAndImage(new SimFileSystem(9), clock);
    tamperRecord(fs, 'log-0', RecordType.PATCH, (n) => n - 20); // inside the ciphertext, before the 16-byte tag
    const err = await rejectsWith(SessionEngine.open(opts(fs, clock)), 'SESSIOND_LOG_CORRUPT');
    assert.match((err as Error).message, /authentication tag/);
    const salvaged = await SessionEngine.open(opts(fs, clock, { salvage: true }));
    assert.equal(salvaged.recovery.corruption.length, 1);
    assert.ok(!salvaged.get('a')!.attrs.includes('more'), 'the damaged PATCH was dropped');
    assert.ok(salvaged.get('b') !== undefined);
    await salvaged.close();
  });

  it('a changed tag byte, key ID byte, or clear field the tag binds (expiry, principal) is caught the same way', async () => {
    // PUT of "b": str16 id (3 bytes), version, createdAtMs, lastAccessAtMs, expiresAtMs, maxInactiveMs, str8 owner "t" (2), str8 principal "" (1), keyIdBytes, "k1"
    const at = { tag: (n: number) => n - 1, expiry: () => 3 + 24, principalLength: () => 3 + 36 + 2, keyId: () => 3 + 36 + 2 + 1 + 2 };
    for (const [what, off] of Object.entries(at)) {
      const clock = new ManualClock(1_700_000_000_000);
      const fs = await storeWithLogAndImage(new SimFileSystem(10), clock);
      tamperRecord(fs, 'log-0', RecordType.PUT, off);
      // A changed key ID names a key nobody has: refused as missing, never opened as garbage.
      const err = await rejectsWith(SessionEngine.open(opts(fs, clock)), what === 'keyId' ? 'SESSIOND_KEY_MISSING' : 'SESSIOND_LOG_CORRUPT');
      if (what !== 'principalLength' && what !== 'keyId') assert.match((err as Error).message, /authentication tag/, what);
    }
  });

  it('a changed clear byte of a sealed image (its expiry, bound as AAD; crc made valid) is SESSIOND_DB_CORRUPT', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const fs = new SimFileSystem(11);
    const e = await SessionEngine.open(opts(fs, clock));
    await e.save('a', { attributes: { v: JSON.stringify(MARKER) }, expiresAtMs: 1_800_000_000_000 });
    await e.close();
    // str16 id "a" (3 bytes), then version, createdAtMs, lastAccessAtMs: the expiry's low byte follows.
    tamperImage(fs, () => 3 + 8 * 3);
    await rejectsWith(SessionEngine.open(opts(fs, clock)), 'SESSIOND_DB_CORRUPT');
  });

  it('a changed ciphertext byte of an image (crc made valid) is SESSIOND_DB_CORRUPT', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const fs = new SimFileSystem(12);
    const e = await SessionEngine.open(opts(fs, clock));
    await e.save('a', { attributes: { v: JSON.stringify(MARKER) } });
    await e.close();
    tamperImage(fs, (n) => n - 17);
    await rejectsWith(SessionEngine.open(opts(fs, clock)), 'SESSIOND_DB_CORRUPT');
  });

  it('a missing key is SESSIOND_KEY_MISSING naming it, for images and records, also with salvage and without encryption', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const fs = await storeWithLogAndImage(new SimFileSystem(13), clock);
    for (const extra of [{ encryption: ONLY_K2 }, { encryption: ONLY_K2, salvage: true }, { encryption: undefined }]) {
      const err = await rejectsWith(SessionEngine.open(opts(fs, clock, extra)), 'SESSIOND_KEY_MISSING');
      assert.equal((err as { context: { keyId: string } }).context.keyId, 'k1');
    }
    // The refused opens changed nothing: the right key still opens everything.
    const ok = await SessionEngine.open(opts(fs, clock));
    assert.deepEqual(ok.ids().sort(), ['a', 'b']);
    await ok.close();
  });

  it('salvage never drops a log record sealed under a missing key (clear images, sealed log)', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const fs0 = new SimFileSystem(16);
    const clear = await SessionEngine.open(opts(fs0, clock, { encryption: undefined }));
    await clear.save('a', { attributes: { v: '1' } });
    await clear.close();
    const sealed = await SessionEngine.open(opts(fs0, clock));
    await sealed.save('b', { attributes: { v: '2' } });
    const fs = fs0.crash(3, { mode: 'keep-all' });
    await sealed.close().catch(() => undefined);
    const err = await rejectsWith(SessionEngine.open(opts(fs, clock, { encryption: undefined, salvage: true })), 'SESSIOND_KEY_MISSING');
    assert.equal((err as { context: { keyId: string } }).context.keyId, 'k1');
    const ok = await SessionEngine.open(opts(fs, clock));
    assert.deepEqual(ok.ids().sort(), ['a', 'b']);
    await ok.close();
  });

  it('an imported session (engine.restore) is sealed and indexed by its principal like a save', async () => {
    const fs = new SimFileSystem(17);
    const clock = new ManualClock(1_700_000_000_000);
    const e = await SessionEngine.open(opts(fs, clock, { principal: 'user' }));
    const t = clock.now();
    const input = { attributes: { user: JSON.stringify('alice'), v: JSON.stringify(MARKER) }, createdAtMs: t - 10, lastAccessAtMs: t, expiresAtMs: t + 3_600_000, maxInactiveMs: 0 };
    assert.equal(await e.restore('imported', input), 'written');
    assert.deepEqual(e.sessionsOf('alice').map((s) => s.id), ['imported']);
    assert.deepEqual(everyFileHolds(fs, MARKER), [], 'the restore record');
    await e.close();
    assert.deepEqual(everyFileHolds(fs, MARKER), [], 'the image');
  });

  it('validates the option: key length, key ID characters, current key present, unknown fields', async () => {
    const fs = new SimFileSystem(14);
    const clock = new ManualClock(0);
    for (const bad of [
      { keys: { k1: randomBytes(16) }, current: 'k1' },
      { keys: { 'k 1': K1 }, current: 'k 1' },
      { keys: { k1: K1 }, current: 'k2' },
      { keys: { k1: K1 }, current: 'k1', cipher: 'x' },
      { keys: { k1: K1.toString('base64') }, current: 'k1', extra: 1 },
    ]) {
      await rejectsWith(SessionEngine.open(opts(fs, clock, { encryption: bad as never })), 'SESSIOND_INVALID_OPTION');
    }
    const e = await SessionEngine.open(opts(fs, clock, { encryption: { keys: { k1: K1.toString('base64') }, current: 'k1' } }));
    await e.close();
  });

  it('rotation: new writes use the current key, old ones stay readable, rekey lets the old key go; crashes in between lose nothing', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    let fs = new SimFileSystem(15);
    let e = await SessionEngine.open(opts(fs, clock, { encryption: ONLY_K1 }));
    for (let i = 0; i < 20; i++) await e.save(`old${i}`, { attributes: { v: JSON.stringify(`${MARKER}${i}`) } });
    await e.flush();
    await e.save('old-log', { attributes: { v: '1' } }); // a k1 record left in the log by the crash
    fs = fs.crash(1, { mode: 'tear' });
    await e.close().catch(() => undefined);
    e = await SessionEngine.open(opts(fs, clock, { encryption: K1_K2 }));
    assert.equal(e.count(), 21);
    for (let i = 0; i < 20; i++) await e.save(`new${i}`, { attributes: { v: JSON.stringify(MARKER) } });
    fs = fs.crash(2, { mode: 'tear' }); // power loss: k2 records in the log, k1 images in the file
    await e.close().catch(() => undefined);
    await rejectsWith(SessionEngine.open(opts(fs, clock, { encryption: ONLY_K2 })), 'SESSIOND_KEY_MISSING');
    // Rekey, with a power loss at every 7th file operation of the open and the rewrite.
    let done = false;
    for (let op = 3; !done; op += 7) {
      fs.crashAtOp(fs.opCount + op, op, { mode: 'tear' });
      try {
        e = await SessionEngine.open(opts(fs, clock, { encryption: K1_K2 }));
        assert.equal(e.count(), 41, 'every acknowledged session survives the crashes');
        await e.rekey();
        await e.close();
        done = fs.crashed === undefined;
        if (done) fs = fs.crash(0, { mode: 'keep-all' }); // disarm the crash point not reached
      } catch (err) {
        assert.ok(isSessiondError(err), String(err));
      }
      if (!done) fs = fs.crashed ?? fs.crash(op, { mode: 'tear' });
      assert.ok(op < 5000, 'the rekey finishes');
    }
    const after = await SessionEngine.open(opts(fs, clock, { encryption: ONLY_K2 }));
    assert.equal(after.count(), 41);
    assert.ok(after.get('old3')!.attrs.includes(`${MARKER}3`));
    await after.close();
  });
});
