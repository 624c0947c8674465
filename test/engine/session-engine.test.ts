/** The embedded engine's behaviour (kind: unit, on the simulated file layer). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { isSessiondError } from '../../src/errors.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { Gate, wrapFileSystem } from '../support/wrap-file-system.js';
import type { EngineOptionsInput } from '../../src/options.js';

const DIR = '/s';
const ID = 'AAAAAAAAAAAAAAAAAAAAAAAA';
const ID2 = 'BBBBBBBBBBBBBBBBBBBBBBBB';

function opts(fs: FileSystem, clock = new ManualClock(), more: Partial<EngineOptionsInput> = {}): EngineOptionsInput {
  return { dir: DIR, fs, clock, flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000, ...more };
}

/** A file layer that counts log bytes and fdatasyncs, and can hold every fdatasync at `gate`. */
class Spy {
  logBytes = 0;
  syncs = 0;
  readonly gate = new Gate();
  readonly fs: FileSystem;
  constructor(readonly inner: FileSystem) {
    this.fs = wrapFileSystem(inner, (path, h) => ({
      writev: (b, pos) => {
        if (/log-\d$/.test(path)) this.logBytes += b.reduce((n, x) => n + x.byteLength, 0);
        return h.writev(b, pos);
      },
      datasync: async () => {
        this.syncs++;
        await this.gate.pass();
        return h.datasync();
      },
    }));
  }
}

test('a saved session is returned by get and survives a reopen', async () => {
  const fs = new SimFileSystem();
  const e = await SessionEngine.open(opts(fs));
  const s = await e.save(ID, { attributes: { user: '"ann"', n: '1' } });
  assert.equal(s.version, 1);
  assert.deepEqual(attributesFromBlob(e.get(ID)!.attrs), new Map([['user', '"ann"'], ['n', '1']]));
  await e.close();
  const e2 = await SessionEngine.open(opts(fs));
  assert.equal(e2.get(ID)!.attrs, s.attrs);
  assert.equal(e2.recovery.sessionsRecovered, 1);
  await e2.close();
});

test('a change is invisible to readers until its log record is durable', async () => {
  const spy = new Spy(new SimFileSystem());
  const e = await SessionEngine.open(opts(spy.fs));
  await e.save(ID, { attributes: { n: '1' } });
  spy.gate.close();
  const pending = e.save(ID, { attributes: { n: '2' } });
  await new Promise((r) => setImmediate(r));
  assert.equal(e.get(ID)!.attrs, '"n"\u00011', 'the unsynced change must not be visible');
  spy.gate.open();
  await pending;
  assert.equal(e.get(ID)!.attrs, '"n"\u00012');
  await e.close();
});

test('the writes of one event-loop turn share one fdatasync (group commit)', async () => {
  const spy = new Spy(new SimFileSystem());
  const e = await SessionEngine.open(opts(spy.fs));
  const before = spy.syncs;
  await Promise.all(Array.from({ length: 50 }, (_, i) => e.save(`${'C'.repeat(20)}${String(i).padStart(4, '0')}`, { attributes: { i: String(i) } })));
  assert.equal(spy.syncs - before, 1);
  await e.close();
});

test('changing one attribute writes only that attribute; an expiry-only change writes a TOUCH', async () => {
  const spy = new Spy(new SimFileSystem());
  const e = await SessionEngine.open(opts(spy.fs));
  const big = JSON.stringify('x'.repeat(4000));
  await e.save(ID, { attributes: { big, n: '1' } });
  const before = spy.logBytes;
  await e.save(ID, { attributes: { big, n: '2' } });
  const patchBytes = spy.logBytes - before;
  assert.ok(patchBytes < 200, `a one-attribute change wrote ${patchBytes} log bytes`);
  const t0 = spy.logBytes;
  const s = await e.save(ID, { attributes: { big, n: '2' }, expiresAtMs: e.clock.now() + 5000 });
  assert.ok(spy.logBytes - t0 < 120, 'expiry-only save must be a small TOUCH record');
  assert.equal(s.expiresAtMs, e.clock.now() + 5000);
  const t1 = spy.logBytes;
  await e.save(ID, { attributes: { big, n: '2' }, expiresAtMs: s.expiresAtMs });
  assert.equal(spy.logBytes, t1, 'an unchanged save writes nothing');
  await e.close();
  const e2 = await SessionEngine.open(opts(spy.inner));
  assert.deepEqual(attributesFromBlob(e2.get(ID)!.attrs), new Map([['big', big], ['n', '2']]));
  assert.equal(e2.get(ID)!.version, 3);
  await e2.close();
});

test('after destroy, a late save from an in-flight request cannot bring the session back', async () => {
  const fs = new SimFileSystem();
  const e = await SessionEngine.open(opts(fs));
  await e.save(ID, { attributes: { user: '"ann"' } });
  assert.equal(await e.destroy(ID), true);
  await assert.rejects(e.save(ID, { attributes: { user: '"ann"', n: '2' } }), (err) => isSessiondError(err, 'SESSIOND_SESSION_DESTROYED'));
  assert.equal(e.get(ID), undefined);
  await e.close();
  const e2 = await SessionEngine.open(opts(fs));
  assert.equal(e2.get(ID), undefined);
  await e2.close();
});

test('expiry is exact to the millisecond, excluded from all/count, and reclaimed in bounded ticks', async () => {
  const clock = new ManualClock();
  const e = await SessionEngine.open(opts(new SimFileSystem(), clock, { expiryScanMax: 2 }));
  const t = clock.now();
  for (let i = 0; i < 5; i++) await e.save(`${'D'.repeat(20)}000${i}`, { attributes: {}, expiresAtMs: t + 100 });
  await e.save(ID, { attributes: {}, expiresAtMs: t + 1000 });
  clock.set(t + 99);
  assert.equal(e.count(), 6);
  clock.set(t + 100);
  assert.equal(e.count(), 1);
  assert.equal(e.get(`${'D'.repeat(20)}0000`), undefined);
  assert.deepEqual(e.ids(), [ID]);
  const stats = await e.stats();
  assert.equal(stats.sessions.count, 1);
  await e.close();
});

test('sliding expiry: a touch extends a session with maxInactiveMs', async () => {
  const clock = new ManualClock();
  const e = await SessionEngine.open(opts(new SimFileSystem(), clock));
  await e.save(ID, { attributes: {}, expiresAtMs: 0, maxInactiveMs: 1000 });
  clock.advance(900);
  await e.touch(ID);
  clock.advance(900);
  assert.ok(e.get(ID), 'touched 900 ms ago, still alive');
  clock.advance(100);
  assert.equal(e.get(ID), undefined);
  await e.close();
});

// A save is one O_DSYNC write of the log (its failure is a failed fsync); behind a lazy
// touch's unsynced group it is writev + fdatasync.
for (const op of ['writev', 'datasync'] as const) {
test(`a failed fdatasync (${op === 'writev' ? 'an O_DSYNC write' : 'writev + fdatasync'}) is fatal and never retried: the store turns read-only, reads go on`, async () => {
  const fs = new SimFileSystem();
  const e = await SessionEngine.open(opts(fs));
  await e.save(ID, { attributes: { n: '1' } });
  // A lazy touch, written alone and left unsynced (it resolves with the next sync).
  const touched = op === 'datasync' ? e.touch(ID, {}, true) : undefined;
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
  fs.injectFault({ op, path: 'log-', code: 'EIO' });
  await assert.rejects(e.save(ID, { attributes: { n: '2' } }), (err) => isSessiondError(err, 'SESSIOND_READ_ONLY') && err.context.op === op);
  if (touched) await assert.rejects(touched, (err) => isSessiondError(err, 'SESSIOND_READ_ONLY'));
  const syncs = fs.opCounts.datasync;
  const writes = fs.opCounts.writev;
  await assert.rejects(e.save(ID2, { attributes: {} }), (err) => isSessiondError(err, 'SESSIOND_READ_ONLY'));
  assert.equal(fs.opCounts.datasync, syncs, 'no fdatasync after the failure');
  assert.equal(fs.opCounts.writev, writes, 'no write after the failure');
  assert.equal(e.get(ID)!.attrs, '"n"\u00011');
  assert.equal(e.readOnlyReason?.code, 'SESSIOND_READ_ONLY');
  await e.close();
  fs.clearFaults();
  const e2 = await SessionEngine.open(opts(fs));
  assert.ok(e2.get(ID));
  await e2.close();
});
}

test('an oversized session is refused with SESSIOND_SESSION_TOO_LARGE and nothing is written', async () => {
  const spy = new Spy(new SimFileSystem());
  const e = await SessionEngine.open(opts(spy.fs, new ManualClock(), { sessionBytesMax: 2048 }));
  const before = spy.logBytes;
  await assert.rejects(e.save(ID, { attributes: { big: JSON.stringify('x'.repeat(3000)) } }), (err) => isSessiondError(err, 'SESSIOND_SESSION_TOO_LARGE') && err.status === 413);
  assert.equal(spy.logBytes, before);
  assert.equal(e.get(ID), undefined);
  await e.close();
});

test('malformed IDs (empty, over 512 UTF-8 bytes, a lone surrogate) are absent for reads and refused for writes', async () => {
  const e = await SessionEngine.open(opts(new SimFileSystem()));
  for (const bad of ['', 'x'.repeat(513), 'é'.repeat(257), 'ab\ud800cd']) {
    assert.equal(e.get(bad), undefined);
    assert.equal(await e.touch(bad), undefined);
    assert.equal(await e.destroy(bad), false);
    await assert.rejects(e.save(bad, { attributes: {} }), (err) => isSessiondError(err, 'SESSIOND_INVALID_SESSION_ID'));
  }
  await e.close();
});

test('unknown options are refused by name; a store opens once per process', async () => {
  const fs = new SimFileSystem();
  await assert.rejects(SessionEngine.open({ ...opts(fs), flushIntervalMillis: 5 } as EngineOptionsInput), (err) => isSessiondError(err, 'SESSIOND_INVALID_OPTION') && /flushIntervalMillis/.test(err.message));
  const e = await SessionEngine.open(opts(fs));
  await assert.rejects(SessionEngine.open(opts(fs)), (err) => isSessiondError(err, 'SESSIOND_LOCKED'));
  await e.close();
});

test('logs swap at logSwapBytes and the old one is reset once the database holds it', async () => {
  const fs = new SimFileSystem();
  const e = await SessionEngine.open(opts(fs, new ManualClock(), { logSwapBytes: 4096 }));
  for (let i = 0; i < 200; i++) await e.save(ID, { attributes: { n: String(i), pad: JSON.stringify('p'.repeat(100)) } });
  await e.flush();
  const sizes = [fs.readFileSync(`${DIR}/log-0`).length, fs.readFileSync(`${DIR}/log-1`).length];
  assert.ok(Math.min(...sizes) <= 512, `one log must be reset to its header, sizes ${sizes}`);
  assert.ok(Math.max(...sizes) < 4096 * 4, `logs must not grow without bound, sizes ${sizes}`);
  const st = await e.stats();
  assert.ok(st.log.groups >= 200);
  await e.close();
  const e2 = await SessionEngine.open(opts(fs));
  assert.equal(attributesFromBlob(e2.get(ID)!.attrs).get('n'), '199');
  await e2.close();
});

test('stats report sessions by owner, age and expiry, log and database sizes, flush lag and fsync latency', async () => {
  const clock = new ManualClock();
  const e = await SessionEngine.open(opts(new SimFileSystem(), clock, { owner: 'web-1' }));
  await e.save(ID, { attributes: { a: '1' } });
  await e.save(ID2, { attributes: { a: '2' } });
  clock.advance(120_000);
  const st = await e.stats();
  assert.equal(st.sessions.count, 2);
  assert.deepEqual(st.sessions.byOwner, { 'web-1': 2 });
  assert.equal(st.sessions.byAge['<10m'], 2);
  assert.equal(st.flush.dirtySessions, 2);
  assert.equal(st.flush.lagMs, 120_000);
  assert.ok(st.log.fsyncMs.samples >= 2);
  assert.ok(st.db.fileBytes >= 1024);
  await e.flush();
  const st2 = await e.stats();
  assert.equal(st2.flush.dirtySessions, 0);
  assert.equal(st2.flush.lsnLag, 0);
  assert.equal(st2.db.liveImages, 2);
  await e.close();
});

test('a torn or foreign LOCK file is a stale lock, not a live owner (crash-sim regression: torn bytes read as pid 1)', async () => {
  const fs = new SimFileSystem();
  await fs.mkdir(DIR);
  for (const junk of ['1', '1\n', 'sessiond pid 1', 'sessiond pid 1\nxx', '\u0000\u0000']) {
    fs.writeFileSync(`${DIR}/LOCK`, Buffer.from(junk));
    const e = await SessionEngine.open(opts(fs));
    await e.close();
  }
});

test('a store whose owner was killed but not yet reaped (a zombie) can be opened', async () => {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, rmSync, writeFileSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'sessiond-zombie-'));
  // The inner shell prints its pid and exits; its parent becomes `sleep`, which never
  // waits for children, so the inner one stays a zombie while `sleep` lives.
  const holder = spawn('sh', ['-c', 'sh -c "echo \\$\\$" & exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const pid = Number(await new Promise<string>((r) => holder.stdout.once('data', (d: Buffer) => r(d.toString().trim()))));
    let state = '';
    for (let i = 0; i < 50 && state !== 'Z'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    }
    assert.equal(state, 'Z', 'the test needs a zombie to prove anything');
    writeFileSync(join(dir, 'LOCK'), `sessiond pid ${pid}\n`);
    const e = await SessionEngine.open({ dir });
    await e.close();
  } finally {
    holder.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stats() over many sessions yields to the event loop instead of blocking requests', async () => {
  const e = await SessionEngine.open(opts(new SimFileSystem(), new ManualClock(), { groupCommitBytesMax: 4 * 1024 * 1024 }));
  const n = 50_000;
  const saves: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) saves.push(e.save(`stat${String(i).padStart(20, '0')}`, { attributes: { i: String(i) } }));
  await Promise.all(saves);
  let ticks = 0;
  const tick = (): void => {
    ticks++;
    if (!done) setImmediate(tick);
  };
  let done = false;
  setImmediate(tick);
  const st = await e.stats();
  done = true;
  assert.equal(st.sessions.count, n);
  // A census done in one synchronous sweep would let no tick run before it resolved.
  assert.ok(ticks >= 2, `the event loop ran ${ticks} times during the census`);
  await e.close();
});

test('a flush split into several batches while sessions keep changing stays writable and recovers (regression: images newer than the batch appliedLsn were refused)', async () => {
  const fs = new SimFileSystem();
  const e = await SessionEngine.open(opts(fs, new ManualClock(), { flushBatchBytesMax: 4096 }));
  const ids = Array.from({ length: 40 }, (_, i) => `split${String(i).padStart(19, '0')}`);
  const pad = JSON.stringify('p'.repeat(700));
  await Promise.all(ids.map((id) => e.save(id, { attributes: { n: '0', pad } })));
  const flushing = e.flush();
  // Changes made while the flush runs: some land after its snapshot, newer than its appliedLsn.
  for (let round = 1; round <= 5; round++) {
    await Promise.all(ids.map((id) => e.save(id, { attributes: { n: String(round), pad } })));
  }
  await flushing;
  await e.flush();
  assert.equal(e.readOnlyReason, undefined);
  await e.close();
  const e2 = await SessionEngine.open(opts(fs));
  for (const id of ids) assert.equal(attributesFromBlob(e2.get(id)!.attrs).get('n'), '5');
  await e2.close();
});

test('a session whose durable state expired but whose pending touch extends it is alive (read-your-touch)', async () => {
  const clock = new ManualClock();
  const spy = new Spy(new SimFileSystem());
  const e = await SessionEngine.open(opts(spy.fs, clock));
  await e.save(ID, { attributes: { a: '1' }, expiresAtMs: clock.now() + 100 });
  spy.gate.close();
  const touched = e.touch(ID, { expiresAtMs: clock.now() + 10_000 });
  clock.advance(150); // past the durable expiry, within the pending one
  const s = e.get(ID);
  assert.ok(s, 'the pending touch keeps the session alive');
  assert.equal(s.expiresAtMs, clock.now() - 150 + 10_000);
  assert.equal(e.count(), 1);
  spy.gate.open();
  await touched;
  assert.ok(e.get(ID));
  await e.close();
});

test('the flusher keeps the image of an expired session whose pending touch extends it (a crash then keeps the session)', async () => {
  const clock = new ManualClock(undefined, { timers: true }); // advance() fires the flush timer
  const sim = new SimFileSystem();
  // Holds only the log's fdatasync, so the database flush can run while the touch waits.
  const gate = new Gate();
  const fs = wrapFileSystem(sim, (path, h) => ({
    datasync: async () => {
      if (/log-\d$/.test(path)) await gate.pass();
      return h.datasync();
    },
  }));
  // The first flush tick comes at +150 ms, when the durable state has just expired.
  const e = await SessionEngine.open(opts(fs, clock, { flushIntervalMs: 150 }));
  // Not flushed yet: the session is dirty when the flusher next looks at it.
  await e.save(ID, { attributes: { a: '1' }, expiresAtMs: clock.now() + 100 });
  gate.close();
  const touched = e.touch(ID, { expiresAtMs: clock.now() + 60_000 });
  clock.advance(150); // the durable state has expired; the pending touch extends it; flush timers fire
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r)); // the timer-driven flush runs meanwhile
  gate.open();
  assert.ok(await touched, 'the touch was acknowledged');
  const survivor = sim.crash(7, { mode: 'drop-all' }); // power loss before any further flush
  await e.close().catch(() => undefined);
  const e2 = await SessionEngine.open(opts(survivor, clock));
  assert.ok(e2.get(ID), 'an acknowledged touch must not lose the session');
  await e2.close();
});
