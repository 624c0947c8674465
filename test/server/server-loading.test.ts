// serve() listens before the store recovers, as redis-server does: during recovery INFO
// says loading:1 and data commands get -LOADING; after it, normal service on the same
// connections. A failed recovery closes the listener and rejects with the engine's error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { isSessiondError } from '../../src/errors.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { nodeFileSystem } from '../../src/fs/node-file-system.js';
import { serve } from '../../src/server/server.js';
import { Gate, wrapFileSystem } from '../support/wrap-file-system.js';
import { removeDir, tempDir } from '../adapters/adapter-fixtures.js';
import { RawClient } from './server-fixtures.js';

const LOADING = { error: 'LOADING Redis is loading the dataset in memory' };

/** The real file system, with mkdir and open held at `gate` while it is closed: recovery stops at its first step. */
function gatedFileSystem(gate: Gate): FileSystem {
  const inner = wrapFileSystem(nodeFileSystem, () => ({}));
  return {
    ...inner,
    mkdir: async (path) => {
      await gate.pass();
      return inner.mkdir(path);
    },
    open: async (path, mode) => {
      await gate.pass();
      return inner.open(path, mode);
    },
  };
}

/** Until recovery is held at the gate; fails at once if serve() settles first. */
async function untilWaiting(gate: Gate, serving: Promise<unknown>): Promise<void> {
  let settled: unknown;
  serving.then(
    () => (settled = 'resolved'),
    (e: unknown) => (settled = e),
  );
  while (gate.waiting === 0) {
    if (settled !== undefined) throw new Error(`serve() settled before recovery reached the gate: ${String(settled)}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

function infoLine(info: unknown, field: string): string | undefined {
  assert.ok(Buffer.isBuffer(info), `INFO should be a bulk string, got ${String(info)}`);
  return info.toString('latin1').split('\r\n').find((l) => l.startsWith(`${field}:`));
}

test('a client connected during recovery gets loading:1 and -LOADING, then the real answers on the same connection', async () => {
  const dir = tempDir('serve-loading');
  const sockDir = tempDir('serve-loading-sock');
  const first = await serve({ dir, socket: join(sockDir, 's.sock') });
  const setter = await RawClient.connect(join(sockDir, 's.sock'));
  assert.equal(await setter.call('SET', 'sess:a', 'v1'), 'OK');
  setter.close();
  await first.close();

  const gate = new Gate();
  gate.close();
  const serving = serve({ dir, socket: join(sockDir, 's.sock'), engine: { fs: gatedFileSystem(gate) } });
  let served = false;
  void serving.then(() => (served = true));
  try {
    await untilWaiting(gate, serving);
    const c = await RawClient.connect(join(sockDir, 's.sock'));
    assert.equal(await c.call('PING'), 'PONG');
    assert.equal(infoLine(await c.call('INFO', 'persistence'), 'loading'), 'loading:1');
    assert.equal(infoLine(await c.call('INFO'), 'loading'), 'loading:1');
    assert.equal(await c.call('CLIENT', 'SETNAME', 'early'), 'OK');
    assert.deepEqual(await c.call('GET', 'sess:a'), LOADING);
    assert.deepEqual(await c.call('SET', 'sess:b', 'x'), LOADING);
    assert.deepEqual(await c.call('DBSIZE'), LOADING);
    assert.deepEqual(await c.call('HGET', 'sess:a', 'f'), LOADING);
    // redis-server checks arity before loading.
    assert.deepEqual(await c.call('GET'), { error: "ERR wrong number of arguments for 'get' command" });
    assert.equal(served, false, 'serve() resolved while the store was still recovering');

    gate.open();
    const server = await serving;
    try {
      assert.equal(infoLine(await c.call('INFO', 'persistence'), 'loading'), 'loading:0');
      assert.deepEqual(await c.call('GET', 'sess:a'), Buffer.from('v1'));
      assert.equal(await c.call('SET', 'sess:b', 'x'), 'OK');
      assert.equal(await c.call('DBSIZE'), 2);
      assert.deepEqual(await c.call('CLIENT', 'GETNAME'), Buffer.from('early'));
      c.close();
    } finally {
      await server.close();
    }
  } finally {
    gate.open();
    await serving.then((s) => s.close()).catch(() => undefined);
    removeDir(dir);
    removeDir(sockDir);
  }
});

test('a failed recovery closes the listener and its clients and rejects serve() with the engine error', { timeout: 60_000 }, async () => {
  const dir = tempDir('serve-loading-fail');
  const sockDir = tempDir('serve-loading-fail-sock');
  const holder = await SessionEngine.open({ dir });
  const gate = new Gate();
  gate.close();
  const path = join(sockDir, 's.sock');
  const serving = serve({ dir, socket: path, engine: { fs: gatedFileSystem(gate) } });
  const outcome = serving.then(
    () => undefined,
    (e: unknown) => e,
  );
  try {
    await untilWaiting(gate, serving);
    const c = await RawClient.connect(path);
    assert.equal(infoLine(await c.call('INFO', 'persistence'), 'loading'), 'loading:1');
    gate.open();
    const e = await outcome;
    assert.ok(isSessiondError(e, 'SESSIOND_LOCKED'), `expected SESSIOND_LOCKED, got ${String(e)}`);
    await c.whenClosed();
    await assert.rejects(RawClient.connect(path));
  } finally {
    gate.open();
    await serving.then((s) => s.close()).catch(() => undefined);
    await holder.close();
    removeDir(dir);
    removeDir(sockDir);
  }
});
