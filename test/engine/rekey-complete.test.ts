// Online rekey is complete (issue 12 part 2, docs/operations.md "Rotation"): once
// engine.rekey() resolves, no file of the store, as it is now and as a power loss would
// leave it, holds a byte sealed under the old key: not its key ID framing, not a run of
// its ciphertext (freed extents past their first block, the free tail, images of sessions
// that expired on disk, log records). The old key can then go: a reopen without it reads
// every session. A crash at any point of the rekey loses nothing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { isSessiondError } from '../../src/errors.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { SEAL_NONCE_BYTES, SEAL_TAG_BYTES } from '../../src/format/constants.js';
import type { EngineOptionsInput } from '../../src/options.js';
import { Prng } from '../../src/util/prng.js';
import { K1, K2, ONLY_K2 } from './key-rings.js';

const DIR = '/rekey';
const MARKER = 'MARKER-4e1c-rekeyed';
const T0 = 1_700_000_000_000;
/**
 * The old key's ID, long on purpose: every file is searched for its framing, and a short one
 * turns up by chance in the new key's random nonces and ciphertext (['\x02', 'k', '1'] did
 * in about 1 case in 70, ~320 KB searched each: docs/benchmarks.md, h/split).
 */
const K1_ID = 'k1-retired-by-the-rekey';
const ONLY_K1 = { keys: { [K1_ID]: K1 }, current: K1_ID };
const K1_K2 = { keys: { [K1_ID]: K1, k2: K2 }, current: 'k2' };
/** How a k1 seal starts (docs/format.md §3.7): keyIdBytes, then the key ID. */
const K1_FRAMING = Buffer.from([K1_ID.length, ...Buffer.from(K1_ID)]);
/** Bytes of each ciphertext sample searched for, and the distance between samples. */
const SAMPLE_BYTES = 24;
const SAMPLE_STEP = 160;

type Files = Map<string, Buffer>;

function opts(fs: SimFileSystem, clock: ManualClock, extra: Partial<EngineOptionsInput> = {}): EngineOptionsInput {
  return { dir: DIR, fs, clock, owner: 't', flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000, logSwapBytes: 8192, logSwapMs: 3_600_000, encryption: ONLY_K1, ...extra };
}

/** Every file of the store as it is now, and as a power loss that keeps only synced bytes would leave it. */
function filesOf(fs: SimFileSystem): { now: Files; durable: Files } {
  const now: Files = new Map();
  const durable: Files = new Map();
  for (const f of fs.listSync(DIR)) {
    now.set(f, Buffer.from(fs.readFileSync(`${DIR}/${f}`)));
    const d = fs.durableFileSync(`${DIR}/${f}`);
    if (d !== undefined) durable.set(f, Buffer.from(d));
  }
  return { now, durable };
}

/** Samples of the ciphertext of every k1 seal in `files` (framing, nonce, u32 length, ciphertext). */
function k1Ciphertext(files: Files): Buffer[] {
  const out: Buffer[] = [];
  for (const b of files.values()) {
    for (let at = b.indexOf(K1_FRAMING); at >= 0; at = b.indexOf(K1_FRAMING, at + 1)) {
      const lenAt = at + K1_FRAMING.length + SEAL_NONCE_BYTES;
      if (lenAt + 4 > b.length) continue;
      const n = b.readUInt32LE(lenAt);
      const c = b.subarray(lenAt + 4, Math.min(b.length, lenAt + 4 + n + SEAL_TAG_BYTES));
      for (let s = 0; s + SAMPLE_BYTES <= c.length; s += SAMPLE_STEP) out.push(Buffer.from(c.subarray(s, s + SAMPLE_BYTES)));
    }
  }
  return out;
}

/** `file@offset` of every k1 framing and of every old ciphertext sample found in `files`. */
function oldKeyBytes(files: Files, samples: readonly Buffer[]): string[] {
  const found: string[] = [];
  for (const [f, b] of files) {
    for (let at = b.indexOf(K1_FRAMING); at >= 0; at = b.indexOf(K1_FRAMING, at + 1)) found.push(`${f}@${at} (k1 framing)`);
    for (const s of samples) {
      const at = b.indexOf(s);
      if (at >= 0) found.push(`${f}@${at} (k1 ciphertext)`);
    }
  }
  return found;
}

function valueOf(i: number, v: number): string {
  // Several blocks an image: a freed extent keeps all but its first block.
  return JSON.stringify(`${MARKER}-${i}-v${v}-${'x'.repeat(1800 + (i % 5) * 300)}-${MARKER}`);
}

/**
 * A store written under k1 alone: images replaced and deleted (their freed extents hold k1
 * ciphertext), sessions that will have expired on disk, and (`crash`) k1 records left in
 * both logs by a power loss. Resolves the attributes value every live session must have.
 */
async function k1Store(fs0: SimFileSystem, clock: ManualClock, extra: Partial<EngineOptionsInput>, crash: boolean): Promise<{ fs: SimFileSystem; expected: Map<string, string> }> {
  const expected = new Map<string, string>();
  const e = await SessionEngine.open(opts(fs0, clock, extra));
  for (let i = 0; i < 30; i++) {
    const short = i % 10 === 3; // expires after a minute, before the rekey
    await e.save(`s${i}`, { attributes: { v: valueOf(i, 0) }, ...(short ? { expiresAtMs: clock.now() + 60_000 } : {}) });
    if (!short) expected.set(`s${i}`, valueOf(i, 0));
  }
  await e.flush();
  for (let i = 0; i < 30; i += 4) {
    if (!expected.has(`s${i}`)) continue;
    await e.save(`s${i}`, { attributes: { v: valueOf(i, 1) } }); // the v0 image is freed
    expected.set(`s${i}`, valueOf(i, 1));
  }
  for (const i of [5, 17]) {
    await e.destroy(`s${i}`);
    expected.delete(`s${i}`);
  }
  await e.flush();
  for (let i = 30; i < 40; i++) {
    await e.save(`s${i}`, { attributes: { v: valueOf(i, 0) } }); // only in the logs when `crash`
    expected.set(`s${i}`, valueOf(i, 0));
  }
  if (!crash) {
    await e.close();
    return { fs: fs0, expected };
  }
  const fs = fs0.crash(7, { mode: 'drop-all' });
  await e.close().catch(() => undefined);
  return { fs, expected };
}

async function readsEverything(fs: SimFileSystem, clock: ManualClock, encryption: EngineOptionsInput['encryption'], extra: Partial<EngineOptionsInput>, expected: ReadonlyMap<string, string>): Promise<void> {
  const e = await SessionEngine.open(opts(fs, clock, { ...extra, encryption }));
  try {
    assert.deepEqual(e.ids().sort(), [...expected.keys()].sort());
    for (const [id, v] of expected) assert.equal((await e.read(id))?.attrs, `"v"\x01${v}`, id);
  } finally {
    await e.close();
  }
}

const VARIANTS: Array<{ what: string; extra: Partial<EngineOptionsInput> }> = [
  { what: 'packed sessions (no bound)', extra: {} },
  { what: 'sessions on disk (cacheBytesMax)', extra: { cacheBytesMax: 12_000 } },
];

describe('rekey leaves no byte sealed under the old key', () => {
  for (const { what, extra } of VARIANTS) {
    for (const crash of [false, true]) {
      it(`${what}, ${crash ? 'k1 records in the logs after a crash' : 'after a clean close'}: no k1 framing or ciphertext in any file, now or after a power loss; the old key can go`, async () => {
        const clock = new ManualClock(T0);
        const { fs, expected } = await k1Store(new SimFileSystem(crash ? 2 : 1), clock, extra, crash);
        const before = filesOf(fs).now;
        const samples = k1Ciphertext(before);
        assert.ok(samples.length > 100, `the test sees the k1 ciphertext (${samples.length} samples)`);
        if (crash) assert.ok(oldKeyBytes(new Map([...before].filter(([f]) => f.startsWith('log-'))), []).length > 0, 'k1 records are in the logs');
        const e = await SessionEngine.open(opts(fs, clock, { ...extra, encryption: K1_K2 }));
        clock.advance(120_000); // the short sessions expire while open; the reaper's interval is an hour
        assert.equal(e.count(), expected.size);
        assert.ok((await e.rekey()) >= expected.size);
        const after = filesOf(fs);
        assert.deepEqual(oldKeyBytes(after.now, samples), [], 'the files now');
        assert.deepEqual(oldKeyBytes(after.durable, samples), [], 'the files after a power loss');
        await e.close();
        await readsEverything(fs, clock, ONLY_K2, extra, expected);
        await readsEverything(fs, clock, K1_K2, extra, expected);
      });
    }
  }

  it('saves racing the rekey are kept and sealed under the new key; a clear store turned encrypted keeps no clear attribute byte', async () => {
    const clock = new ManualClock(T0);
    const { fs, expected } = await k1Store(new SimFileSystem(3), clock, { encryption: undefined }, false);
    assert.ok(filesOf(fs).now.get('sessions.db')!.includes(MARKER), 'clear before');
    clock.advance(120_000);
    const e = await SessionEngine.open(opts(fs, clock, { encryption: ONLY_K1, cacheBytesMax: 12_000, flushBatchBytesMax: 8192 }));
    const rekey = e.rekey();
    const saves: Array<Promise<unknown>> = [];
    for (let i = 0; i < 40; i += 3) {
      expected.set(`s${i}`, valueOf(i, 7));
      saves.push(e.save(`s${i}`, { attributes: { v: valueOf(i, 7) } }));
    }
    await Promise.all([rekey, ...saves]);
    const after = filesOf(fs);
    for (const files of [after.now, after.durable]) for (const [f, b] of files) assert.ok(!b.includes(MARKER), `${f} holds a clear attribute`);
    await e.close();
    await readsEverything(fs, clock, ONLY_K1, { cacheBytesMax: 12_000 }, expected);
  });

  it('a crash at any point of the rekey loses nothing: the reopen reads everything with both keys, and a rekey then lets k1 go', async () => {
    const clock = new ManualClock(T0);
    const { fs: base, expected } = await k1Store(new SimFileSystem(4), clock, { cacheBytesMax: 12_000 }, true);
    clock.advance(120_000);
    const extra = { cacheBytesMax: 12_000, flushBatchBytesMax: 8192 };
    // The ops of a whole open + rekey + close, counted on a copy.
    const probe = base.peekCrash(0, { mode: 'keep-all' });
    const e0 = await SessionEngine.open(opts(probe, clock, { ...extra, encryption: K1_K2 }));
    await e0.rekey();
    await e0.close();
    const ops = probe.opCount;
    assert.ok(ops > 50, `${ops} ops`);
    const prng = new Prng(1234);
    const failures: string[] = [];
    for (let op = 1; op <= ops && failures.length < 3; op++) {
      const seed = prng.int(1_000_000);
      const fs = base.peekCrash(0, { mode: 'keep-all' });
      fs.crashAtOp(op, seed, { mode: (['tear', 'drop-all', 'keep-all'] as const)[op % 3] });
      let e: SessionEngine | undefined;
      try {
        e = await SessionEngine.open(opts(fs, clock, { ...extra, encryption: K1_K2 }));
        await e.rekey();
        await e.close();
      } catch (err) {
        await e?.close().catch(() => undefined);
        if (!isSessiondError(err)) failures.push(`op ${op} seed ${seed}: ${String(err)}`);
      }
      const survivor = fs.crashed;
      assert.ok(survivor !== undefined, `op ${op} crashed`);
      try {
        await readsEverything(survivor, clock, K1_K2, extra, expected);
        const e = await SessionEngine.open(opts(survivor, clock, { ...extra, encryption: K1_K2 }));
        await e.rekey();
        await e.close();
        await readsEverything(survivor, clock, ONLY_K2, extra, expected);
      } catch (err) {
        failures.push(`op ${op} seed ${seed}: ${String(err)}`);
      }
    }
    assert.deepEqual(failures, []);
  });
});
