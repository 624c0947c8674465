// Integration tests of the command table through a real socket (src/server/): exact replies
// and redis-server's exact error texts, expiry on a manual clock, binary-safe values, the
// tombstone rule for late SETs, pipelines ordered and sharing fsyncs, and SCAN under writes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.js';
import { nodeFileSystem } from '../../src/fs/node-file-system.js';
import { Gate, wrapFileSystem } from '../support/wrap-file-system.js';
import { HANG_GUARD, RawClient, startServer, startWithClient, text } from './server-fixtures.js';

describe('sessiond serve commands', () => {
  it('answers the connection commands like redis-server', HANG_GUARD, async (t) => {
    const { c } = await startWithClient(t);
    c.write('PING\r\n');
    assert.equal(await c.reply(), 'PONG');
    assert.equal(await c.call('PING'), 'PONG');
    assert.equal(text(await c.call('ping', 'hi')), 'hi');
    assert.equal(text(await c.call('ECHO', 'x')), 'x');
    assert.deepEqual(await c.call('ECHO'), { error: "ERR wrong number of arguments for 'echo' command" });
    assert.equal(await c.call('SELECT', '0'), 'OK');
    assert.deepEqual(await c.call('SELECT', '1'), { error: 'ERR DB index is out of range' });
    assert.equal(await c.call('CLIENT', 'SETNAME', 'app-1'), 'OK');
    assert.equal(text(await c.call('CLIENT', 'GETNAME')), 'app-1');
    assert.deepEqual(await c.call('CLIENT', 'SETNAME', 'a b'), { error: 'ERR Client names cannot contain spaces, newlines or special characters.' });
    assert.equal(await c.call('CLIENT', 'SETINFO', 'LIB-NAME', 'node-redis'), 'OK');
    assert.equal(typeof (await c.call('CLIENT', 'ID')), 'number');
    assert.deepEqual(await c.call('CLIENT', 'foo'), { error: "ERR unknown subcommand 'foo'. Try CLIENT HELP." });
    assert.deepEqual(await c.call('foo', 'a', 'b'), { error: "ERR unknown command 'foo', with args beginning with: 'a' 'b' " });
    assert.match(text(await c.call('INFO')) as string, /\r\nloading:0\r\n/);
    assert.deepEqual(text(await c.call('CONFIG', 'GET', 'save')), ['save', '']);
    assert.deepEqual(await c.call('AUTH', 'x'), {
      error: 'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
    });
    assert.deepEqual(await c.call('HELLO', '4'), { error: 'NOPROTO unsupported protocol version' });
    assert.equal(await c.call('QUIT'), 'OK');
    await c.whenClosed();
  });

  it('SAVE moves every acknowledged change into the database file before its OK (engine.flush())', HANG_GUARD, async (t) => {
    const { s, c } = await startWithClient(t);
    for (let i = 0; i < 5; i++) assert.equal(await c.call('SET', `save:${i}`, 'v'.repeat(100)), 'OK');
    assert.ok((await s.server.engine.stats()).flush.backlogBytes > 0, 'the SETs are in the log only (flushIntervalMs 30 s)');
    c.write('*3\r\n$3\r\nSET\r\n$6\r\nsave:9\r\n$1\r\nw\r\n*1\r\n$4\r\nSAVE\r\n');
    assert.equal(await c.reply(), 'OK');
    assert.equal(await c.reply(), 'OK');
    const st = await s.server.engine.stats();
    assert.equal(st.flush.backlogBytes, 0, 'the pipelined SET before the SAVE is in the file too');
    assert.equal(st.db.liveImages, 6);
    assert.deepEqual(await c.call('SAVE', 'x'), { error: "ERR wrong number of arguments for 'save' command" });
  });

  it('SET, GET, DEL, EXISTS, MGET, DBSIZE and TYPE, with binary keys and values', HANG_GUARD, async (t) => {
    const { s, c } = await startWithClient(t);
    const binary = Buffer.from([0xff, 0x00, 0xfe, 0x0d, 0x0a, 0x01, 0xc3]);
    const key = Buffer.from([0x80, 0x00, 0x3a]);
    assert.equal(await c.call('SET', key, binary), 'OK');
    assert.deepEqual(await c.call('GET', key), binary);
    assert.equal(await c.call('SET', 'k2', 'héllo'), 'OK');
    assert.equal((await c.call('GET', 'k2') as Buffer).toString('utf8'), 'héllo');
    assert.equal(await c.call('GET', 'missing'), null);
    assert.deepEqual(text(await c.call('MGET', 'k2', 'missing')), ['héllo'.replace('é', '\xc3\xa9'), null]);
    assert.equal(await c.call('EXISTS', 'k2', 'k2', 'missing'), 2);
    assert.equal(await c.call('DBSIZE'), 2);
    assert.equal(await c.call('TYPE', 'k2'), 'string');
    assert.equal(await c.call('TYPE', 'missing'), 'none');
    assert.deepEqual(await c.call('HGET', 'k2', 'f'), { error: 'WRONGTYPE Operation against a key holding the wrong kind of value' });
    assert.equal(await c.call('DEL', 'k2', 'missing'), 1);
    assert.equal(await c.call('UNLINK', key), 1);
    assert.equal(await c.call('DBSIZE'), 0);
    // After a restart the bytes are the same.
    assert.equal(await c.call('SET', key, binary), 'OK');
    c.close();
    await s.server.close();
    const s2 = await startServer({}, s.dir);
    t.after(() => s2.close());
    const c2 = await RawClient.connect(s2.port);
    t.after(() => c2.close());
    assert.deepEqual(await c2.call('GET', key), binary);
  });

  it('SET options, expiry and TTL follow the injected clock', HANG_GUARD, async (t) => {
    const clock = new ManualClock();
    const { c } = await startWithClient(t, { engine: { clock } });
    assert.equal(await c.call('SET', 'a', '1', 'EX', '10'), 'OK');
    assert.equal(await c.call('TTL', 'a'), 10);
    assert.equal(await c.call('PTTL', 'a'), 10_000);
    clock.advance(4_400);
    assert.equal(await c.call('TTL', 'a'), 6);
    assert.equal(await c.call('PTTL', 'a'), 5_600);
    assert.equal(await c.call('SET', 'a', '2', 'KEEPTTL'), 'OK');
    assert.equal(await c.call('PTTL', 'a'), 5_600);
    assert.equal(await c.call('SET', 'a', '3'), 'OK');
    assert.equal(await c.call('TTL', 'a'), -1);
    assert.equal(await c.call('TTL', 'nokey'), -2);
    assert.equal(await c.call('PEXPIRE', 'a', '1500'), 1);
    assert.equal(await c.call('PTTL', 'a'), 1500);
    assert.equal(await c.call('PERSIST', 'a'), 1);
    assert.equal(await c.call('PERSIST', 'a'), 0);
    assert.equal(await c.call('EXPIRE', 'a', '2'), 1);
    assert.equal(await c.call('EXPIRE', 'nokey', '2'), 0);
    clock.advance(2_000);
    assert.equal(await c.call('GET', 'a'), null);
    assert.equal(await c.call('SET', 'b', 'x', 'PXAT', String(clock.now() + 300)), 'OK');
    assert.equal(await c.call('PTTL', 'b'), 300);
    assert.equal(await c.call('SET', 'b', 'y', 'EXAT', String(Math.floor(clock.now() / 1000) + 100)), 'OK');
    assert.equal(await c.call('SET', 'b', 'z', 'NX'), null);
    assert.equal(await c.call('SET', 'c', 'z', 'XX'), null);
    assert.equal(await c.call('SET', 'c', 'z', 'NX'), 'OK');
    assert.equal(text(await c.call('SET', 'c', 'w', 'GET')), 'z');
    assert.equal(text(await c.call('GETEX', 'c', 'PX', '700')), 'w');
    assert.equal(await c.call('PTTL', 'c'), 700);
    assert.equal(text(await c.call('GETEX', 'c', 'PERSIST')), 'w');
    assert.equal(await c.call('TTL', 'c'), -1);
    assert.deepEqual(await c.call('SET', 'c', 'v', 'EX', '0'), { error: "ERR invalid expire time in 'set' command" });
    assert.deepEqual(await c.call('SET', 'c', 'v', 'EX', 'abc'), { error: 'ERR value is not an integer or out of range' });
    assert.deepEqual(await c.call('SET', 'c', 'v', 'NX', 'XX'), { error: 'ERR syntax error' });
    assert.deepEqual(await c.call('SET', 'c', 'v', 'EX', '1', 'PX', '1'), { error: 'ERR syntax error' });
    assert.deepEqual(await c.call('GETEX', 'c', 'EX', '0'), { error: "ERR invalid expire time in 'getex' command" });
    assert.deepEqual(await c.call('EXPIRE', 'c', '10', 'foo'), { error: 'ERR Unsupported option foo' });
  });

  it('a DEL refuses a late SET with an expiry, but a SET without one makes the key again', HANG_GUARD, async (t) => {
    const clock = new ManualClock();
    const { c } = await startWithClient(t, { engine: { clock, tombstoneMs: 60_000 } });
    assert.equal(await c.call('SET', 'sess:abc', '{"user":"ann"}', 'EX', '86400'), 'OK');
    assert.equal(await c.call('DEL', 'sess:abc'), 1);
    // The slow request of the logged-out session writes it back, as connect-redis does: refused.
    assert.equal(await c.call('SET', 'sess:abc', '{"user":"ann"}', 'EX', '86400'), null);
    assert.equal(await c.call('GET', 'sess:abc'), null);
    // Once the tombstone window is over, the key is an ordinary new key.
    clock.advance(60_000);
    assert.equal(await c.call('SET', 'sess:abc', '{"user":"bob"}', 'EX', '86400'), 'OK');
    assert.equal(await c.call('DEL', 'sess:abc'), 1);
    // A SET without an expiry is a new value, not a late session write.
    assert.equal(await c.call('SET', 'sess:abc', 'plain'), 'OK');
    assert.equal(text(await c.call('GET', 'sess:abc')), 'plain');
    assert.equal(await c.call('SET', 'sess:abc', 'again', 'EX', '10'), 'OK');
  });

  it('a pipeline is answered in order, reads see the writes before them, and 16 SETs share fsyncs', HANG_GUARD, async (t) => {
    let fsyncs = 0;
    const fs = wrapFileSystem(nodeFileSystem, (path, h) => (path.includes('log-') ? { datasync: () => (fsyncs++, h.datasync()) } : {}));
    const { c } = await startWithClient(t, { engine: { fs } });
    await c.call('PING');
    const before = fsyncs;
    const sets = Array.from({ length: 16 }, (_, i) => ['SET', `k${i}`, `v${i}`]);
    c.send(...sets, ['GET', 'k15'], ['DEL', 'k0'], ['GET', 'k0'], ['SET', 'k0', 'again'], ['GET', 'k0'], ['DBSIZE']);
    const replies = [];
    for (let i = 0; i < 22; i++) replies.push(text(await c.reply()));
    assert.deepEqual(replies, [...sets.map(() => 'OK'), 'v15', 1, null, 'OK', 'again', 16]);
    assert.ok(fsyncs - before <= 6, `the 16 SETs of one pipeline took ${fsyncs - before} fsyncs`);
  });

  it('SCAN returns every key that lives through the scan exactly once, while other keys come and go', HANG_GUARD, async (t) => {
    const { c } = await startWithClient(t);
    const stable = Array.from({ length: 300 }, (_, i) => `sess:stable-${i}`);
    c.send(...stable.map((k) => ['SET', k, 'x']));
    for (const _ of stable) await c.reply();
    const seen = new Map<string, number>();
    let cursor = '0';
    let round = 0;
    do {
      const [next, keys] = text(await c.call('SCAN', cursor, 'MATCH', 'sess:stable-*', 'COUNT', '17')) as [string, string[]];
      for (const k of keys) seen.set(k, (seen.get(k) ?? 0) + 1);
      // Meanwhile other keys are written and deleted.
      c.send(...Array.from({ length: 20 }, (_, i) => ['SET', `churn-${round}-${i}`, 'y']), ['DEL', `churn-${round - 1}-3`]);
      for (let i = 0; i < 21; i++) await c.reply();
      cursor = next;
      round++;
    } while (cursor !== '0');
    assert.deepEqual([...seen.keys()].sort(), [...stable].sort());
    assert.ok([...seen.values()].every((n) => n === 1));
    assert.deepEqual(await c.call('SCAN', 'x'), { error: 'ERR invalid cursor' });
    assert.deepEqual(await c.call('SCAN', '0', 'COUNT', '0'), { error: 'ERR syntax error' });
  });

  it('a SET that changes nothing is answered only once the identical write before it is durable', HANG_GUARD, async (t) => {
    const gate = new Gate();
    const fs = wrapFileSystem(nodeFileSystem, (path, h) => (path.includes('log-') ? { datasync: async () => (await gate.pass(), h.datasync()) } : {}));
    const s = await startServer({ engine: { fs } });
    t.after(() => s.close());
    const [a, b, c] = await Promise.all([RawClient.connect(s.port), RawClient.connect(s.port), RawClient.connect(s.port)]);
    t.after(() => (a.close(), b.close(), c.close()));
    gate.close();
    a.send(['SET', 'k', 'same']);
    while (gate.waiting === 0) await new Promise((r) => setImmediate(r)); // A's record waits for its fsync
    const commands = s.server.stats.commandsTotal;
    b.send(['SET', 'k', 'same']); // nothing to write: the engine returns A's pending state
    while (s.server.stats.commandsTotal === commands) await new Promise((r) => setImmediate(r));
    assert.equal(await c.call('PING'), 'PONG'); // the server has answered what it could by now
    let bAnswered = false;
    const bReply = b.reply().then((r) => ((bAnswered = true), r));
    await new Promise((r) => setImmediate(r));
    gate.open(); // before asserting: a closed gate would hold the server's shutdown
    assert.equal(bAnswered, false, 'B was told OK while the value was not durable');
    assert.equal(await a.reply(), 'OK');
    assert.equal(await bReply, 'OK');
  });
});
