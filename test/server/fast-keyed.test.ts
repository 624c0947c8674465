// EXPIRE/PEXPIRE answered from offsets (fast-commands.ts) against the general EXPIRE, and
// GET beside the connection's own running writes (docs/server.md "Pipelines"): a GET of
// another key is answered without waiting for them, so the writes after it still join the
// group commit; a GET of a key with a write still running waits and sees it. Through a
// real socket, with the log's fdatasync held at a gate where the order matters.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.js';
import { nodeFileSystem } from '../../src/fs/node-file-system.js';
import { simpleExpireAt } from '../../src/server/fast-commands.js';
import { Gate, wrapFileSystem } from '../support/wrap-file-system.js';
import { HANG_GUARD, RawClient, startServer, text, type TestServer } from './server-fixtures.js';

/** A server whose log fdatasyncs pass `gate`, on a manual clock, and a client. */
async function gated(t: { after(fn: () => unknown): void }): Promise<{ s: TestServer; c: RawClient; gate: Gate; clock: ManualClock }> {
  const gate = new Gate();
  // Registered first, so it runs before the server closes: a closed gate would hold the shutdown.
  t.after(() => gate.open());
  const clock = new ManualClock();
  const fs = wrapFileSystem(nodeFileSystem, (path, h) => (path.includes('log-') ? { datasync: async () => (await gate.pass(), h.datasync()) } : {}));
  const s = await startServer({ engine: { fs, clock } });
  t.after(() => s.close());
  const c = await RawClient.connect(s.port);
  t.after(() => c.close());
  return { s, c, gate, clock };
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setImmediate(r));
}

describe('sessiond serve EXPIRE from offsets', () => {
  it('simpleExpireAt takes EXPIRE/PEXPIRE with a plain positive count in its digit bounds, and nothing else', () => {
    const at = (...args: string[]): number | undefined => {
      const buf = Buffer.from(args.join(' '), 'latin1');
      const spans = new Int32Array(2 * args.length);
      let p = 0;
      args.forEach((a, i) => ((spans[2 * i] = p), (spans[2 * i + 1] = p + a.length), (p += a.length + 1)));
      return simpleExpireAt(buf, spans, 1_000);
    };
    assert.equal(at('EXPIRE', 'k', '10'), 11_000);
    assert.equal(at('expire', 'k', '999999999'), 1_000 + 999_999_999_000);
    assert.equal(at('PExpire', 'k', '1'), 1_001);
    assert.equal(at('pexpire', 'k', '999999999999'), 1_000 + 999_999_999_999);
    for (const [cmd, n] of [['EXPIRE', '1000000000'], ['PEXPIRE', '1000000000000'], ['EXPIRE', '0'], ['EXPIRE', '01'], ['EXPIRE', '-1'], ['EXPIRE', '+1'], ['EXPIRE', ''], ['EXPIRE', '1a'], ['EXPIREAT', '1'], ['SET', '1'], ['EXPIR', '1']]) {
      assert.equal(at(cmd!, 'k', n!), undefined, `${cmd} ${n}`);
    }
  });

  it('replies and TTLs match the general EXPIRE at and past every bound, in any case', HANG_GUARD, async (t) => {
    const { s, c, clock } = await gated(t);
    const cases: [string, string, unknown, number][] = [
      ['EXPIRE', '86400', 1, 86_400_000],
      ['expire', '999999999', 1, 999_999_999_000],
      ['Expire', '1000000000', 1, 1_000_000_000_000],
      ['PEXPIRE', '1500', 1, 1_500],
      ['pexpire', '999999999999', 1, 999_999_999_999],
      ['PEXPIRE', '1000000000000', 1, 1_000_000_000_000],
      ['EXPIRE', '0', 1, -2],
      ['EXPIRE', '-5', 1, -2],
      ['EXPIRE', '01', { error: 'ERR value is not an integer or out of range' }, -1],
      ['PEXPIRE', '1.5', { error: 'ERR value is not an integer or out of range' }, -1],
      ['EXPIRE', '99999999999999999', { error: "ERR invalid expire time in 'expire' command" }, -1],
    ];
    for (const [i, [cmd, n, reply, pttl]] of cases.entries()) {
      assert.equal(await c.call('SET', `k${i}`, 'v'), 'OK');
      assert.deepEqual(await c.call(cmd, `k${i}`, n), reply, `${cmd} ${n}`);
      assert.equal(await c.call('PTTL', `k${i}`), pttl, `PTTL after ${cmd} ${n}`);
    }
    assert.equal(await c.call('EXPIRE', 'missing', '100'), 0);
    assert.equal(await c.call('DEL', 'k0'), 1);
    assert.equal(await c.call('EXPIRE', 'k0', '100'), 0, 'a deleted key is not brought back');
    clock.advance(1_500);
    assert.equal(await c.call('GET', 'k3'), null, 'a PEXPIRE 1500 key expires after 1.5 s');
    assert.equal(text(await c.call('GET', 'k1')), 'v');
    assert.ok(s.server.stats.commandsTotal > 0);
  });
});

describe('sessiond serve GET beside the connection\'s running writes', () => {
  it('a GET of another key is answered at once: the writes after it are issued before the first is durable', HANG_GUARD, async (t) => {
    const { s, c, gate } = await gated(t);
    assert.equal(await c.call('SET', 'b', 'old'), 'OK');
    gate.close();
    const commands = s.server.stats.commandsTotal;
    c.send(['SET', 'a', 'x'], ['GET', 'b'], ['SET', 'c', 'y', 'EX', '100'], ['EXPIRE', 'b', '100'], ['GET', 'd']);
    await until(() => s.server.stats.commandsTotal === commands + 5);
    await until(() => gate.waiting > 0);
    const { engine } = s.server;
    const pending = ['a', 'c', 'b'].map((k) => engine.hasPending(k));
    gate.open(); // before asserting, so a failure does not hold the server's shutdown
    // The first SET waits for its fsync; the SET and the EXPIRE after the GET were issued, not held behind it.
    assert.deepEqual(pending, [true, true, true]);
    assert.deepEqual(text([await c.reply(), await c.reply(), await c.reply(), await c.reply(), await c.reply()]), ['OK', 'old', 'OK', 1, null]);
  });

  it('a GET of a key whose SET or EXPIRE of this connection still runs waits for it and sees it, and any GET waits behind a DEL', HANG_GUARD, async (t) => {
    const { c, gate, clock } = await gated(t);
    assert.equal(await c.call('SET', 'k', 'v1'), 'OK');
    gate.close();
    c.send(['PEXPIRE', 'k', '5'], ['GET', 'k'], ['SET', 'j', 'v2'], ['GET', 'j']);
    await until(() => gate.waiting > 0);
    // Read before the EXPIRE is durable, k is alive; read after it (and 10 ms on), it has expired.
    clock.advance(10);
    gate.open();
    assert.deepEqual(text([await c.reply(), await c.reply(), await c.reply(), await c.reply()]), [1, null, 'OK', 'v2']);
    // Once those writes are done, a GET behind a DEL (a general-path write, of any key) still waits.
    c.send(['DEL', 'j'], ['GET', 'j']);
    assert.deepEqual([await c.reply(), await c.reply()], [1, null]);
  });
});
