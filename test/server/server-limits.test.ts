// Integration tests of the server's limits and access rules (src/server/): AUTH with a
// password, refusing to serve a public address without one, max clients, bulk and pipeline
// limits, idle timeout, slow readers, protocol errors closing one connection only, and the
// Unix socket (a stale socket file from a killed server is replaced).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSessiondError } from '../../src/errors.js';
import { serve } from '../../src/server/server.js';
import { passwordMatches } from '../../src/server/connection-commands.js';
import { removeDir, tempDir } from '../adapters/adapter-fixtures.js';
import { HANG_GUARD, RawClient, startServer, startWithClient, text } from './server-fixtures.js';

describe('sessiond serve limits and access', () => {
  it('with a password, every command but AUTH, HELLO and QUIT waits for AUTH', HANG_GUARD, async (t) => {
    const { s, c } = await startWithClient(t, { password: 'secret pass' });
    assert.deepEqual(await c.call('GET', 'k'), { error: 'NOAUTH Authentication required.' });
    assert.deepEqual(await c.call('PING'), { error: 'NOAUTH Authentication required.' });
    assert.deepEqual(await c.call('AUTH', 'wrong'), { error: 'WRONGPASS invalid username-password pair or user is disabled.' });
    assert.deepEqual(await c.call('AUTH', 'other', 'secret pass'), { error: 'WRONGPASS invalid username-password pair or user is disabled.' });
    assert.equal(await c.call('AUTH', 'secret pass'), 'OK');
    assert.equal(await c.call('PING'), 'PONG');
    const c2 = await RawClient.connect(s.port);
    t.after(() => c2.close());
    const hello = text(await c2.call('HELLO', '3', 'AUTH', 'default', 'secret pass', 'SETNAME', 'w1')) as Map<string, unknown>;
    assert.equal(hello.get('proto'), 3);
    assert.equal(hello.get('server'), 'redis');
    assert.equal(await c2.call('GET', 'nokey'), null); // RESP3 null
    assert.equal(text(await c2.call('CLIENT', 'GETNAME')), 'w1');
    assert.ok(passwordMatches(Buffer.from('secret pass'), 'secret pass'));
    assert.ok(!passwordMatches(Buffer.from('secret pas'), 'secret pass'));
  });

  it('HELLO without AUTH on a password-protected server gets the NOAUTH HELLO text', HANG_GUARD, async (t) => {
    const { c } = await startWithClient(t, { password: 'pw' });
    const r = (await c.call('HELLO', '3')) as { error: string };
    assert.match(r.error, /^NOAUTH HELLO must be called with the client already authenticated/);
  });

  it('refuses to serve a non-loopback address without a password, before opening the store', async (t) => {
    const parent = tempDir('serve-bind');
    t.after(() => removeDir(parent));
    const dir = join(parent, 'store');
    await assert.rejects(serve({ dir, host: '0.0.0.0', port: 0 }), (e) => isSessiondError(e, 'SESSIOND_INSECURE_BIND') && e.context.host === '0.0.0.0');
    assert.ok(!existsSync(dir));
    await assert.rejects(serve({ dir, port: 0, bogus: 1 } as never), (e) => isSessiondError(e, 'SESSIOND_INVALID_OPTION') && e.context.option === 'bogus');
  });

  it('a client past clientsMax gets "max number of clients reached" and the others go on', HANG_GUARD, async (t) => {
    const s = await startServer({ clientsMax: 2 });
    t.after(() => s.close());
    const a = await RawClient.connect(s.port);
    const b = await RawClient.connect(s.port);
    t.after(() => (a.close(), b.close()));
    assert.equal(await a.call('PING'), 'PONG');
    assert.equal(await b.call('PING'), 'PONG');
    const c = await RawClient.connect(s.port);
    assert.deepEqual(await c.reply(), { error: 'ERR max number of clients reached' });
    await c.whenClosed();
    assert.equal(await a.call('PING'), 'PONG');
    assert.equal(s.server.stats.connectionsRejected, 1);
  });

  it('a bulk past bulkBytesMax, or a protocol error, closes that connection only', HANG_GUARD, async (t) => {
    const s = await startServer({ bulkBytesMax: 16, pipelineBytesMax: 1024 });
    t.after(() => s.close());
    const ok = await RawClient.connect(s.port);
    t.after(() => ok.close());
    const big = await RawClient.connect(s.port);
    big.send(['SET', 'k', 'x'.repeat(17)]);
    assert.deepEqual(await big.reply(), { error: 'ERR Protocol error: invalid bulk length' });
    await big.whenClosed();
    const bad = await RawClient.connect(s.port);
    bad.send(['SET', 'k', 'v']);
    bad.write('*1\r\n+PING\r\n');
    assert.equal(await bad.reply(), 'OK'); // what came before the bad bytes is answered
    assert.deepEqual(await bad.reply(), { error: "ERR Protocol error: expected '$', got '+'" });
    await bad.whenClosed();
    const many = await RawClient.connect(s.port);
    many.write('*200\r\n' + '$16\r\n' + 'y'.repeat(16) + '\r\n');
    many.write(('$16\r\n' + 'y'.repeat(16) + '\r\n').repeat(80));
    assert.match(((await many.reply()) as { error: string }).error, /^ERR Protocol error: a command is larger than pipelineBytesMax/);
    await many.whenClosed();
    assert.equal(await ok.call('PING'), 'PONG');
    assert.equal(s.server.stats.protocolErrors, 3);
  });

  it('a pipeline larger than pipelineBytesMax is flow-controlled, not refused: every command is answered', HANG_GUARD, async (t) => {
    const { c } = await startWithClient(t, { bulkBytesMax: 1024, pipelineBytesMax: 4096 });
    const n = 400;
    c.send(...Array.from({ length: n }, (_, i) => ['SET', `k${i}`, 'v'.repeat(500)]));
    for (let i = 0; i < n; i++) assert.equal(await c.reply(), 'OK');
    assert.equal(await c.call('DBSIZE'), n);
  });

  it('an idle connection is closed after idleTimeoutMs', HANG_GUARD, async (t) => {
    const s = await startServer({ idleTimeoutMs: 100 });
    t.after(() => s.close());
    const c = await RawClient.connect(s.port);
    assert.equal(await c.call('PING'), 'PONG');
    await c.whenClosed();
    assert.equal(s.server.stats.idleClientsClosed, 1);
  });

  it('a client that does not read its replies is closed past outputBufferBytesMax', HANG_GUARD, async (t) => {
    const { s, c } = await startWithClient(t, { outputBufferBytesMax: 1024 });
    assert.equal(await c.call('SET', 'big', 'x'.repeat(60_000)), 'OK');
    c.socket.pause();
    c.send(...Array.from({ length: 400 }, () => ['GET', 'big']));
    // The paused client cannot see the close; the server's counter says when it happened.
    while (s.server.stats.slowClientsClosed === 0) await new Promise((r) => setTimeout(r, 10));
    c.socket.resume();
    await c.whenClosed();
    assert.equal(s.server.stats.slowClientsClosed, 1);
    assert.equal(s.server.stats.connectionsTotal, 1);
  });

  it('serves a Unix socket, replacing a stale socket file but never a live one', HANG_GUARD, async (t) => {
    const dir = tempDir('serve-sock');
    t.after(() => removeDir(dir));
    const socket = join(dir, 'sessiond.sock');
    writeFileSync(socket, ''); // what a killed server leaves behind (any file: nothing listens there)
    const server = await serve({ dir: join(dir, 'store'), socket });
    t.after(() => server.close());
    assert.equal(server.address, socket);
    await assert.rejects(serve({ dir: join(dir, 'store2'), socket }), /EADDRINUSE/);
    const reply = await new Promise<string>((resolve, reject) => {
      const c = connect(socket, () => c.write('PING\r\n'));
      c.on('data', (d) => (resolve(d.toString()), c.destroy()));
      c.on('error', reject);
    });
    assert.equal(reply, '+PONG\r\n');
  });
});
