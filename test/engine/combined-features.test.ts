/**
 * Issue 12 parts 1, 2 and 4 together (kind: unit, on the simulated file layer): the principal
 * index and encryption at rest with `cacheBytesMax`, where sessions are cold (evicted, or
 * left on disk by the open) and must keep their principal and their seal without being
 * loaded. docs/memory.md, "With the principal index and encryption at rest".
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { isSessiondError } from '../../src/errors.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { STATE_BYTES_FIXED } from '../../src/engine/loaded-sessions.js';
import type { EngineOptionsInput } from '../../src/options.js';
import { RecordType } from '../../src/format/constants.js';
import { resolveEncryption } from '../../src/session/attr-seal.js';
import { decodePayload } from '../../src/session/session-decoder.js';
import type { SessionState } from '../../src/session/session-state.js';
import { planSave } from '../../src/engine/write-plan.js';
import { recordDataBytes } from '../../src/log/record-codec.js';
import { engineSessions, exportChunks } from '../../src/transfer/export-sessions.js';
import { importSessions } from '../../src/transfer/import-sessions.js';
import { ONLY_K1, K1_K2, ONLY_K2 } from './key-rings.js';

const DIR = '/combined';
const N = 60;
const MARKER = 'MARKER-c01d-5ea1ed';
/** About four loaded sessions of the ~300-byte attributes below. */
const BOUND = 4 * (STATE_BYTES_FIXED + 24 + 300);

function idOf(i: number): string {
  return `sess${String(i).padStart(20, '0')}`;
}

/** Sessions i ≡ p (mod 3) belong to user u<p>. */
function userOf(i: number): string {
  return `u${i % 3}`;
}

function attrsOf(i: number, v = 0): Record<string, string> {
  return { user: JSON.stringify(userOf(i)), v: String(v), secret: JSON.stringify(`${MARKER}-${i}`), pad: JSON.stringify('x'.repeat(220)) };
}

function opts(fs: SimFileSystem, clock: ManualClock, more: Partial<EngineOptionsInput> = {}): EngineOptionsInput {
  return { dir: DIR, fs, clock, owner: 't', principal: 'user', flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000, cacheBytesMax: BOUND, ...more };
}

/** Lets scheduled eviction passes (setImmediate) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

async function populated(fs: SimFileSystem, clock: ManualClock, more: Partial<EngineOptionsInput> = {}): Promise<SessionEngine> {
  const e = await SessionEngine.open(opts(fs, clock, more));
  for (let i = 0; i < N; i++) await e.save(idOf(i), { attributes: attrsOf(i) });
  await e.flush();
  await settle();
  return e;
}

function idsOfUser(p: number): string[] {
  return Array.from({ length: N }, (_, i) => i)
    .filter((i) => i % 3 === p)
    .map(idOf)
    .sort();
}

async function coldCount(e: SessionEngine): Promise<number> {
  return (await e.stats()).cache.cold;
}

function filesHolding(fs: SimFileSystem, text: string): string[] {
  return fs.listSync(DIR).filter((f) => Buffer.from(fs.readFileSync(`${DIR}/${f}`)).includes(text));
}

describe('principal index with cacheBytesMax', () => {
  it('idsOf leaves out a cold session that expired, by its summary, without loading it', async () => {
    const fs = new SimFileSystem(37);
    const clock = new ManualClock(1_700_000_000_000);
    const e = await SessionEngine.open(opts(fs, clock));
    // u2's sessions expire in a second; the others in an hour.
    for (let i = 0; i < N; i++) await e.save(idOf(i), { attributes: attrsOf(i), expiresAtMs: clock.now() + (i % 3 === 2 ? 1000 : 3_600_000) });
    await e.flush();
    await settle();
    assert.ok((await coldCount(e)) >= N - 8, 'most sessions are evicted');
    assert.deepEqual(e.idsOf('u2').sort(), idsOfUser(2), 'before their expiry');
    clock.advance(2000);
    assert.deepEqual(e.idsOf('u2'), [], 'expired, cold or not');
    assert.deepEqual(e.idsOf('u0').sort(), idsOfUser(0));
    await e.close();
  });

  it('idsOf and destroyAllOf find evicted sessions by their summary; a save called after the revoke is refused', async () => {
    const fs = new SimFileSystem(31);
    const clock = new ManualClock(1_700_000_000_000);
    const e = await populated(fs, clock);
    assert.ok((await coldCount(e)) >= N - 8, 'most sessions are evicted');
    assert.deepEqual(e.idsOf('u1').sort(), idsOfUser(1), 'cold sessions are in the index');
    // A synchronous list of states cannot include sessions on disk: refused, never shorter.
    assert.throws(() => e.sessionsOf('u1'), (err) => isSessiondError(err, 'SESSIOND_SESSION_NOT_LOADED'));

    const keep = idOf(1);
    const revoke = e.destroyAllOf('u1', { except: keep });
    // Called after the revoke (its target still cold, loading): must not bring it back.
    const late = e.save(idOf(4), { attributes: attrsOf(4, 9) }).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.equal(await revoke, idsOfUser(1).length - 1);
    assert.ok(isSessiondError(await late, 'SESSIOND_SESSION_DESTROYED'), String(await late));
    assert.deepEqual(e.idsOf('u1'), [keep]);
    for (const id of idsOfUser(1)) assert.equal((await e.read(id)) === undefined, id !== keep, id);
    // The other users' sessions are untouched, cold or not.
    assert.deepEqual(e.idsOf('u0').sort(), idsOfUser(0));
    assert.equal((await e.readAll()).length, N - idsOfUser(1).length + 1);
    await e.close();

    const again = await SessionEngine.open(opts(fs, clock));
    assert.deepEqual(again.idsOf('u1'), [keep], 'the revoke is durable');
    assert.equal(await again.read(idOf(4)), undefined);
    await again.close();
  });

  it('after a restart with a bound, sessionsOf finds the sessions the open left on disk (idsOf, readSessionsOf)', async () => {
    const fs = new SimFileSystem(32);
    const clock = new ManualClock(1_700_000_000_000);
    await (await populated(fs, clock)).close();
    const e = await SessionEngine.open(opts(fs, clock));
    assert.ok((await coldCount(e)) >= N - 8, 'the open left most sessions on disk');
    for (const p of [0, 1, 2]) {
      assert.deepEqual(e.idsOf(`u${p}`).sort(), idsOfUser(p), `idsOf(u${p})`);
      const states = await e.readSessionsOf(`u${p}`);
      assert.deepEqual(states.map((s) => s.id).sort(), idsOfUser(p));
      for (const s of states) assert.equal(s.principal, `u${p}`);
    }
    assert.deepEqual(e.idsOf('nobody'), []);
    // A save that changes the principal of a cold session moves it in the index.
    await e.patch(idOf(0), { set: { user: JSON.stringify('u2') } });
    assert.ok(!e.idsOf('u0').includes(idOf(0)) && e.idsOf('u2').includes(idOf(0)));
    // Expiry of a cold session drops it from the index without reading it back.
    await e.flush();
    await settle();
    await e.close();

    // Without a bound (packed sessions): sessionsOf decodes them on the spot.
    const packed = await SessionEngine.open(opts(fs, clock, { cacheBytesMax: 0 }));
    assert.deepEqual(
      packed
        .sessionsOf('u1')
        .map((s) => s.id)
        .sort(),
      idsOfUser(1),
    );
    assert.ok(packed.idsOf('u2').includes(idOf(0)), 'the moved principal survived the restart');
    await packed.close();
  });

  it('an expired cold session leaves the index when reclaimed, without being read back', async () => {
    const fs = new SimFileSystem(33);
    const clock = new ManualClock(1_700_000_000_000);
    const e = await SessionEngine.open(opts(fs, clock, { expiryIntervalMs: 10 }));
    for (let i = 0; i < N; i++) await e.save(idOf(i), { attributes: attrsOf(i), expiresAtMs: clock.now() + (i < 30 ? 1_500 : 3_600_000) });
    await e.flush();
    await settle();
    const cold = await coldCount(e);
    assert.ok(cold > 0);
    clock.advance(2_000);
    // The reaper runs on a real timer (the engine's clock does not forward the manual one's):
    // it reclaims expired cold sessions from their summaries.
    for (let i = 0; i < 500 && (await coldCount(e)) >= cold; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok((await coldCount(e)) < cold, 'cold sessions were reclaimed');
    assert.deepEqual((await e.stats()).cache.loads, 0, 'none was read back');
    assert.deepEqual(
      e.idsOf('u0').sort(),
      idsOfUser(0).filter((id) => Number(id.slice(4)) >= 30),
      'expired ones are not listed',
    );
    await e.close();
    const again = await SessionEngine.open(opts(fs, clock));
    assert.deepEqual(
      again.idsOf('u0').sort(),
      idsOfUser(0).filter((id) => Number(id.slice(4)) >= 30),
    );
    await again.close();
  });
});

describe('encryption at rest with cacheBytesMax', () => {
  it('an evicted session reads back decrypted; the marker is in no file; a missing key is refused at the open', async () => {
    const fs = new SimFileSystem(41);
    const clock = new ManualClock(1_700_000_000_000);
    const e = await populated(fs, clock, { encryption: ONLY_K1 });
    assert.ok((await coldCount(e)) >= N - 8);
    assert.deepEqual(filesHolding(fs, MARKER), [], 'no clear attribute byte in any file');
    const s = await e.read(idOf(7));
    assert.ok(s !== undefined && s.attrs.includes(`${MARKER}-7`), 'read back and opened');
    await e.patch(idOf(8), { set: { more: JSON.stringify(`${MARKER}-more`) } });
    await e.flush();
    await settle();
    assert.deepEqual(filesHolding(fs, MARKER), []);
    await e.close();

    const again = await SessionEngine.open(opts(fs, clock, { encryption: ONLY_K1 }));
    assert.ok((await coldCount(again)) >= N - 8, 'the open left sealed sessions on disk');
    for (let i = 0; i < N; i++) assert.ok((await again.read(idOf(i)))!.attrs.includes(`${MARKER}-${i}`), idOf(i));
    assert.ok((await again.read(idOf(8)))!.attrs.includes(`${MARKER}-more`));
    await again.close();
    assert.deepEqual(filesHolding(fs, MARKER), []);

    // The summaries read no seal, yet a key nobody gave is refused at the open, by name.
    await assert.rejects(SessionEngine.open(opts(fs, clock, { encryption: ONLY_K2 })), (err) => isSessiondError(err, 'SESSIOND_KEY_MISSING'));
    await assert.rejects(SessionEngine.open(opts(fs, clock, { encryption: undefined })), (err) => isSessiondError(err, 'SESSIOND_KEY_MISSING'));
  });

  it('rekey reaches the sessions on disk: afterwards the old key can go', async () => {
    const fs = new SimFileSystem(42);
    const clock = new ManualClock(1_700_000_000_000);
    await (await populated(fs, clock, { encryption: ONLY_K1 })).close();
    const e = await SessionEngine.open(opts(fs, clock, { encryption: K1_K2 }));
    assert.ok((await coldCount(e)) >= N - 8);
    assert.equal(await e.rekey(), N);
    await settle();
    assert.ok((await e.stats()).cache.bytes <= BOUND * 2, 'rekey does not load the store at once');
    await e.close();
    const after = await SessionEngine.open(opts(fs, clock, { encryption: ONLY_K2 }));
    assert.equal((await after.readAll()).length, N);
    for (let i = 0; i < N; i++) assert.ok((await after.read(idOf(i)))!.attrs.includes(`${MARKER}-${i}`));
    await after.close();
  });

  it('rekey racing saves that push the cache over its bound: sessions evicted mid-flush are neither lost nor left under the old key', async () => {
    const fs = new SimFileSystem(44);
    const clock = new ManualClock(1_700_000_000_000);
    // Room for about 30 of the sessions; batches of a few images, so the flush awaits between them.
    const more = { encryption: ONLY_K1, cacheBytesMax: 30 * (STATE_BYTES_FIXED + 24 + 300), flushBatchBytesMax: 4096 };
    await (await populated(fs, clock, more)).close();
    const e = await SessionEngine.open(opts(fs, clock, { ...more, encryption: K1_K2 }));
    assert.ok((await e.stats()).cache.loaded >= 20, 'the open loaded sessions up to the bound');
    const rekey = e.rekey();
    // New sessions arrive while the rekey's flush writes the loaded ones: the evictor runs between its batches.
    const saves = Array.from({ length: 40 }, (_, j) => e.save(idOf(N + j), { attributes: attrsOf(N + j) }));
    // Reads of sessions on disk load them (one read each) and push the cache over its bound too.
    const reads = Array.from({ length: N }, (_, i) => e.read(idOf(i)));
    await Promise.all([...saves, ...reads]);
    await rekey;
    await e.close();
    const after = await SessionEngine.open(opts(fs, clock, { ...more, encryption: ONLY_K2 }));
    assert.equal((await after.readAll()).length, N + 40, 'no session lost');
    for (let i = 0; i < N + 40; i++) assert.ok((await after.read(idOf(i)))!.attrs.includes(`${MARKER}-${i}`), idOf(i));
    await after.close();
  });

  it('a packed store (no bound) keeps sealed bytes in memory and rekeys every session', async () => {
    const fs = new SimFileSystem(43);
    const clock = new ManualClock(1_700_000_000_000);
    await (await populated(fs, clock, { encryption: ONLY_K1, cacheBytesMax: 0 })).close();
    const e = await SessionEngine.open(opts(fs, clock, { encryption: K1_K2, cacheBytesMax: 0 }));
    assert.equal((await e.stats()).cache.cold, N, 'packed, not decoded');
    assert.equal(await e.rekey(), N);
    await e.close();
    const after = await SessionEngine.open(opts(fs, clock, { encryption: ONLY_K2, cacheBytesMax: 0 }));
    assert.ok(after.get(idOf(5))!.attrs.includes(`${MARKER}-5`));
    await after.close();
  });
});

describe('export and import (issue 12 part 3) with the three features on', () => {
  it('a bounded, sealed store exports its sessions on disk too, and an import into another one keeps principals and seals', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const fs = new SimFileSystem(51);
    const e = await populated(fs, clock, { encryption: ONLY_K1 });
    assert.ok((await coldCount(e)) >= N - 8);
    let text = '';
    for await (const chunk of exportChunks(engineSessions(e))) text += chunk;
    await e.close();
    assert.equal(text.split('\n').filter((l) => l !== '').length, N, 'every session, on disk or loaded');
    assert.ok(text.includes(`${MARKER}-7`), 'the export holds the opened attributes');

    const fs2 = new SimFileSystem(52);
    const target = await SessionEngine.open(opts(fs2, clock, { dir: DIR, encryption: ONLY_K2 }));
    const bytes = Buffer.from(text, 'utf8');
    await importSessions(target, {
      open: async function* () {
        yield bytes;
      },
    });
    await target.flush();
    await settle();
    assert.deepEqual(target.idsOf('u2').sort(), idsOfUser(2), 'restore computed the principal');
    assert.deepEqual(filesHolding(fs2, MARKER), [], 'restore sealed what it wrote');
    assert.ok((await target.read(idOf(11)))!.attrs.includes(`${MARKER}-11`));
    await target.close();
  });
});

describe('write plans under encryption (the encode-once path of issue 8 with format v3)', () => {
  const enc = resolveEncryption(ONLY_K1);
  const limits = { sessionBytesMax: 1 << 20, sessionTtlMs: 3_600_000, owner: 't', principal: 'user', encryption: enc } as const;
  const NONCE_AT_KEY = 1 + 'k1'.length; // keyIdBytes, keyId, then the nonce (docs/format.md §3.7)

  /** The nonce of a sealed PUT or PATCH payload: after the clear fields and the key ID. */
  function nonceOf(data: Uint8Array, clearBytes: number): string {
    return Buffer.from(data).subarray(clearBytes + NONCE_AT_KEY, clearBytes + NONCE_AT_KEY + 12).toString('hex');
  }

  it('every plan seals its one record with a fresh nonce, and the record decodes to the planned state', () => {
    const nonces = new Set<string>();
    let base: SessionState | undefined;
    for (let v = 0; v < 40; v++) {
      // The same attributes over and over: identical plaintexts must still never share a nonce.
      const p = planSave(base, 'sess-nonce', { attributes: v % 2 === 0 ? attrsOf(1) : attrsOf(1, v) }, 1_700_000_000_000 + v, limits);
      assert.ok('type' in p, 'a change');
      const clear = p.type === RecordType.PUT ? putClearBytes(p.state) : patchClearBytes(p.state);
      // What the log writer's append encodes into its group buffer, here into bytes of its own.
      const data = recordDataBytes(p.data);
      const decoded = decodePayload(p.type, data, undefined, enc);
      if (decoded.type === RecordType.PUT) assert.equal(decoded.state.attrs, p.state.attrs);
      else assert.equal(decoded.type, RecordType.PATCH);
      assert.ok(!Buffer.from(data).includes(MARKER), 'sealed');
      const n = nonceOf(data, clear);
      assert.ok(!nonces.has(n), `nonce reused at version ${v + 1}`);
      nonces.add(n);
      base = { ...p.state, lsn: v + 1 };
    }
  });
});

/** Bytes of the clear fields of a v3 PUT payload before its sealable field (format.md §3.1). */
function putClearBytes(s: SessionState): number {
  return 2 + Buffer.byteLength(s.id) + 8 * 4 + 4 + 1 + Buffer.byteLength(s.owner) + 1 + Buffer.byteLength(s.principal);
}

/** Same for a v3 PATCH (format.md §3.2). */
function patchClearBytes(s: SessionState): number {
  return 2 + Buffer.byteLength(s.id) + 8 * 3 + 4 + 1 + Buffer.byteLength(s.principal);
}
