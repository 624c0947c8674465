/**
 * The cache's memory bound, `cacheBytesMax` (kind: unit, on the simulated file layer):
 * eviction of cold sessions once the database file holds them, read-back on access, hot
 * sessions kept, expiry and statistics of evicted sessions without loading them, and the
 * open under a bound (sessions not yet loaded are waited for, never "absent").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { isSessiondError } from '../../src/errors.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import type { EngineOptionsInput } from '../../src/options.js';
import { STATE_BYTES_FIXED } from '../../src/engine/loaded-sessions.js';
import { Gate, wrapFileSystem } from '../support/wrap-file-system.js';

const DIR = '/s';
const N = 60;
/** About four loaded sessions of the ~300-byte attributes below. */
const BOUND = 4 * (STATE_BYTES_FIXED + 24 + 300);

function idOf(i: number): string {
  return `sess${String(i).padStart(20, '0')}`;
}

function attrsOf(i: number, v = 0): Record<string, string> {
  return { user: JSON.stringify(`user-${i}`), v: String(v), pad: JSON.stringify('x'.repeat(260)) };
}

function opts(fs: FileSystem, clock: ManualClock, more: Partial<EngineOptionsInput> = {}): EngineOptionsInput {
  return { dir: DIR, fs, clock, flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000, cacheBytesMax: BOUND, ...more };
}

/** Lets scheduled eviction passes (setImmediate) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

async function populate(e: SessionEngine, n = N, v = 0): Promise<void> {
  for (let i = 0; i < n; i++) await e.save(idOf(i), { attributes: attrsOf(i, v) });
}

function isNotLoaded(e: unknown): boolean {
  return isSessiondError(e, 'SESSIOND_SESSION_NOT_LOADED');
}

/** A file layer whose reads of sessions.db can be held at a gate and are counted. */
class DbReads {
  readonly gate = new Gate();
  count = 0;
  readonly fs: FileSystem;
  constructor(inner: FileSystem) {
    this.fs = wrapFileSystem(inner, (path, h) => ({
      read: async (b, o, l, p) => {
        if (path.endsWith('sessions.db')) {
          this.count++;
          await this.gate.pass();
        }
        return h.read(b, o, l, p);
      },
    }));
  }
}

test('cold sessions leave the cache once the database file holds them and read back exactly', async () => {
  const fs = new SimFileSystem(1);
  const clock = new ManualClock();
  const e = await SessionEngine.open(opts(fs, clock));
  await populate(e);
  await e.flush();
  await settle();
  const st = await e.stats();
  assert.ok(st.cache.cold >= N - 8, `only ${st.cache.cold} of ${N} evicted`);
  assert.ok(st.cache.bytes <= BOUND, `cache holds ${st.cache.bytes} B over the bound ${BOUND}`);
  assert.equal(st.sessions.count, N, 'the census counts evicted sessions');
  assert.equal(e.count(), N);
  assert.deepEqual(new Set(e.ids()), new Set(Array.from({ length: N }, (_, i) => idOf(i))));
  for (let i = 0; i < N; i++) {
    const s = await e.read(idOf(i));
    assert.ok(s !== undefined, `session ${i} read back as absent`);
    assert.deepEqual(Object.fromEntries(attributesFromBlob(s.attrs)), attrsOf(i));
  }
  assert.ok((await e.stats()).cache.loads > 0);
  assert.equal((await e.readAll()).length, N);
  await e.close();
});

test('over its bound with only changed sessions, the cache asks for a flush cycle at once (flushIntervalMs is an hour): and evicts what it wrote', async () => {
  const fs = new SimFileSystem(11);
  const e = await SessionEngine.open(opts(fs, new ManualClock()));
  await populate(e);
  // The pass that found them all unwritten asked for a cycle; the manual clock never fires the timer.
  for (let i = 0; i < 200 && (await e.stats()).cache.cold === 0; i++) await settle();
  const st = await e.stats();
  assert.ok(st.flush.cycles >= 1, 'no flush cycle ran');
  assert.ok(st.cache.cold >= N - 8, `only ${st.cache.cold} of ${N} evicted after the requested cycle`);
  // Each read back from its image (a cold session's load asserts the image is at its lsn).
  for (let i = 0; i < N; i++) assert.deepEqual(Object.fromEntries(attributesFromBlob((await e.read(idOf(i)))!.attrs)), attrsOf(i));
  await e.close();
});

test('a synchronous read of an evicted session refuses (SESSIOND_SESSION_NOT_LOADED), never answers "absent"', async () => {
  const fs = new SimFileSystem(2);
  const e = await SessionEngine.open(opts(fs, new ManualClock()));
  await populate(e);
  await e.flush();
  await settle();
  let refused = 0;
  for (let i = 0; i < N; i++) {
    try {
      assert.notEqual(e.get(idOf(i)), undefined);
    } catch (err) {
      assert.ok(isNotLoaded(err), String(err));
      refused++;
    }
  }
  assert.ok(refused > 0);
  assert.throws(() => e.all(), isNotLoaded);
  assert.equal(e.get('nosuchsession000000000000'), undefined, 'a session that does not exist is still absent');
  await e.close();
});

test('hot sessions stay loaded while cold ones are evicted', async () => {
  const fs = new SimFileSystem(3);
  const e = await SessionEngine.open(opts(fs, new ManualClock()));
  const hot = [idOf(0), idOf(1)];
  for (let i = 0; i < N; i++) {
    await e.save(idOf(i), { attributes: attrsOf(i) });
    for (const id of hot) await e.read(id);
    if (i % 10 === 9) {
      await e.flush();
      await settle();
    }
  }
  for (const id of hot) await e.read(id);
  await e.flush();
  await settle();
  for (const id of hot) assert.notEqual(e.get(id), undefined, `hot session ${id} was evicted`);
  assert.ok((await e.stats()).cache.cold >= N - 8);
  await e.close();
});

test('writes to an evicted session load it first: patch and touch build on its stored state', async () => {
  const fs = new SimFileSystem(4);
  const clock = new ManualClock();
  const e = await SessionEngine.open(opts(fs, clock));
  await populate(e);
  await e.flush();
  await settle();
  const id = idOf(7);
  assert.throws(() => e.get(id), isNotLoaded);
  const before = (await e.stats()).cache.loads;
  const p = await e.patch(id, { set: { v: '5' } });
  assert.equal(p.version, 2, 'the patch built on the stored version');
  assert.equal(attributesFromBlob(p.attrs).get('user'), JSON.stringify('user-7'));
  assert.equal((await e.stats()).cache.loads, before + 1);
  await e.flush();
  await settle();
  const t = await e.touch(idOf(8), { expiresAtMs: clock.now() + 99_000 });
  assert.ok(t !== undefined, 'touch of an evicted session found it');
  assert.equal(t.expiresAtMs, clock.now() + 99_000);
  assert.equal(await e.destroy(idOf(9)), true, 'destroy of an evicted session found it live');
  assert.equal(await e.read(idOf(9)), undefined);
  await e.close();
  const e2 = await SessionEngine.open(opts(fs, clock, { cacheBytesMax: 0 }));
  assert.equal(e2.get(id)!.version, 2);
  assert.equal(e2.get(idOf(8))!.expiresAtMs, clock.now() + 99_000);
  assert.equal(e2.get(idOf(9)), undefined);
  assert.equal(e2.count(), N - 1);
  await e2.close();
});

test('evicted sessions expire, are counted and reclaimed without being read back', async () => {
  const fs = new SimFileSystem(5);
  const clock = new ManualClock();
  const e = await SessionEngine.open(opts(fs, clock, { expiryIntervalMs: 10 }));
  for (let i = 0; i < N; i++) await e.save(idOf(i), { attributes: attrsOf(i), expiresAtMs: clock.now() + (i < N / 2 ? 1_000 : 3_600_000) });
  await e.flush();
  await settle();
  const loads = (await e.stats()).cache.loads;
  clock.advance(2_000);
  assert.equal(e.count(), N / 2);
  assert.equal((await e.stats()).sessions.count, N / 2);
  assert.equal(await e.read(idOf(0)), undefined, 'an expired evicted session reads as absent');
  // The reaper runs on a real timer (the engine's clock does not forward the manual one's).
  for (let i = 0; i < 500 && (await e.stats()).flush.dirtySessions < N / 2; i++) await new Promise((r) => setTimeout(r, 10));
  await e.flush();
  const st = await e.stats();
  assert.equal(st.cache.loads, loads, 'expiry read nothing back');
  assert.equal(st.db.liveImages, N / 2, 'the reaped sessions left the database file');
  await e.close();
});

test('an open under cacheBytesMax leaves sessions on disk; a read of one not yet loaded waits for it, and saves to it keep their order', async () => {
  const inner = new SimFileSystem(6);
  const clock = new ManualClock();
  const e = await SessionEngine.open(opts(inner, clock, { cacheBytesMax: 0 }));
  await populate(e);
  await e.flush();
  for (let i = 0; i < 10; i++) await e.patch(idOf(i), { set: { v: '1' } }); // in the log only
  const survivor = inner.crash(6, { mode: 'tear' }); // power loss: acknowledged changes must survive
  await e.close().catch(() => undefined);

  const reads = new DbReads(survivor);
  const e2 = await SessionEngine.open(opts(reads.fs, clock));
  assert.equal(e2.count(), N);
  await settle(); // the replayed (loaded) sessions are in the database file: they can leave again
  const st = await e2.stats();
  assert.ok(st.cache.cold > N / 2, `only ${st.cache.cold} sessions left on disk`);
  assert.ok(st.cache.bytes <= BOUND + STATE_BYTES_FIXED + 400, `the open loaded ${st.cache.bytes} B`);
  // The patched sessions were cold when their records were replayed: loaded and folded.
  for (let i = 0; i < 10; i++) assert.equal(attributesFromBlob((await e2.read(idOf(i)))!.attrs).get('v'), '1');

  const id = idOf(N - 1);
  assert.throws(() => e2.get(id), isNotLoaded);
  reads.gate.close();
  const read1 = e2.read(id);
  const save1 = e2.save(id, { attributes: attrsOf(N - 1, 1) });
  const read2 = e2.read(id);
  const save2 = e2.save(id, { attributes: attrsOf(N - 1, 2) });
  await settle();
  assert.equal(reads.gate.waiting, 1, 'one read of the session, shared by every waiter');
  reads.gate.open();
  const r1 = await read1;
  assert.ok(r1 !== undefined, 'a read of a session not yet loaded answered "absent"');
  assert.equal(attributesFromBlob(r1.attrs).get('v'), '0');
  const [s1, s2] = await Promise.all([save1, save2]);
  assert.deepEqual([s1.version, s2.version], [2, 3], 'the saves applied in call order');
  assert.ok(s1.lsn < s2.lsn);
  const r2 = await read2;
  assert.ok(r2 !== undefined);
  assert.equal(attributesFromBlob((await e2.read(id))!.attrs).get('v'), '2');
  const survivor2 = survivor.crash(7, { mode: 'tear' });
  await e2.close().catch(() => undefined);

  const e3 = await SessionEngine.open(opts(survivor2, clock, { cacheBytesMax: 0 }));
  const last = e3.get(id)!;
  assert.equal(last.version, 3);
  assert.equal(attributesFromBlob(last.attrs).get('v'), '2', 'the last acknowledged save survived the crash');
  assert.equal(e3.count(), N);
  await e3.close();
});

test('a destroy racing the load of a session not yet loaded wins over an earlier-called save only in call order', async () => {
  const inner = new SimFileSystem(8);
  const clock = new ManualClock();
  const e = await SessionEngine.open(opts(inner, clock, { cacheBytesMax: 0 }));
  await populate(e, 20);
  await e.close();
  const reads = new DbReads(inner);
  const e2 = await SessionEngine.open(opts(reads.fs, clock));
  const id = idOf(19);
  assert.throws(() => e2.get(id), isNotLoaded);
  reads.gate.close();
  const save = e2.save(id, { attributes: attrsOf(19, 9) });
  const destroy = e2.destroy(id);
  const late = e2.save(id, { attributes: attrsOf(19, 10) }).then(
    () => 'saved',
    (err: unknown) => (isSessiondError(err, 'SESSIOND_SESSION_DESTROYED') ? 'refused' : err),
  );
  await settle();
  reads.gate.open();
  assert.equal((await save).version, 2);
  assert.equal(await destroy, true);
  assert.equal(await late, 'refused', 'a save called after the destroy cannot bring it back');
  assert.equal(await e2.read(id), undefined);
  await e2.close();
});

test('cacheBytesMax is validated like every limit', async () => {
  const fs = new SimFileSystem(9);
  for (const bad of [-1, 1.5, '1000', 2 ** 51]) {
    await assert.rejects(SessionEngine.open(opts(fs, new ManualClock(), { cacheBytesMax: bad as number })), (err: unknown) => isSessiondError(err, 'SESSIOND_INVALID_OPTION'));
  }
});

test('an evicted session whose image is damaged on disk fails its read with SESSIOND_DB_CORRUPT, never "absent"', async () => {
  const fs = new SimFileSystem(10);
  const e = await SessionEngine.open(opts(fs, new ManualClock()));
  await populate(e, 20);
  await e.flush();
  await settle();
  const id = idOf(13);
  assert.throws(() => e.get(id), isNotLoaded);
  const path = `${DIR}/sessions.db`;
  const bytes = fs.readFileSync(path);
  const at = Buffer.from(bytes).indexOf(`user-13`);
  assert.ok(at > 0, 'the image holds the attribute text');
  bytes[at] = bytes[at]! ^ 0x20; // a flipped bit inside the payload: the crc no longer matches
  fs.writeFileSync(path, bytes);
  await assert.rejects(e.read(id), (err: unknown) => isSessiondError(err, 'SESSIOND_DB_CORRUPT'));
  await assert.rejects(e.save(id, { attributes: attrsOf(13, 1) }), (err: unknown) => isSessiondError(err, 'SESSIOND_DB_CORRUPT'));
  assert.equal(attributesFromBlob((await e.read(idOf(12)))!.attrs).get('user'), JSON.stringify('user-12'), 'other sessions still read back');
  await e.close();
});
