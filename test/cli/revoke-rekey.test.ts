/**
 * `sessiond revoke` and `sessiond rekey`, on a stopped store and through a running store's
 * admin port, and the CLI's keys file (kind: integration, real files, real child processes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { startAdminServer } from '../../src/admin/admin-server.js';
import { isLoopback } from '../../src/admin/admin-actions.js';
import { isSessiondError } from '../../src/errors.js';
import { run } from '../server/server-process.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const j = JSON.stringify;

function cli(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, SESSIOND_KEYS: '' } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sessiond-format-cli-'));
  try {
    await fn(join(dir, 'store'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ids = (e: SessionEngine, p: string): string[] => e.sessionsOf(p).map((s) => s.id).sort();

test('revoke on a stopped store destroys every session of the principal but --except', async () => {
  await withDir(async (dir) => {
    const e = await SessionEngine.open({ dir, principal: 'user' });
    for (const id of ['a1', 'a2', 'a3']) await e.save(id, { attributes: { user: j('alice') } });
    await e.save('b1', { attributes: { user: j('bob') } });
    await e.close();
    const r = cli('revoke', dir, 'alice', '--except', 'a2');
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /destroyed 2 sessions/);
    const after = await SessionEngine.open({ dir });
    assert.deepEqual(ids(after, 'alice'), ['a2']);
    assert.deepEqual(ids(after, 'bob'), ['b1']);
    assert.ok(after.isDestroyed('a1'), 'the tombstone outlives the CLI: a late save is refused');
    await after.close();
    assert.equal(cli('revoke', dir).code, 2);
  });
});

test('rekey on a stopped store moves every session to the current key; a missing key is named; verify without keys checks all but the tags', async () => {
  await withDir(async (dir) => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const e = await SessionEngine.open({ dir, encryption: { keys: { k1 }, current: 'k1' } });
    for (let i = 0; i < 30; i++) await e.save(`s${i}`, { attributes: { v: j(`secret-${i}`) } });
    await e.close();
    const keysFile = join(dir, '..', 'keys.json');
    writeFileSync(keysFile, j({ current: 'k2', keys: { k1: k1.toString('base64'), k2: k2.toString('base64') } }));
    const r = cli('rekey', dir, '--keys-file', keysFile);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /rewrote 30 sessions under key k2/);
    const only2 = await SessionEngine.open({ dir, encryption: { keys: { k2 }, current: 'k2' } });
    assert.equal(only2.get('s7')!.attrs, `"v"\u0001${j('secret-7')}`);
    await only2.close();
    const noKeys = cli('stats', dir);
    assert.equal(noKeys.code, 1);
    assert.match(noKeys.err, /SESSIOND_KEY_MISSING: .*key k2/);
    const v = cli('verify', dir);
    assert.equal(v.code, 0, v.out + v.err);
    assert.match(v.out, /sealed under k2: authentication tags not checked/);
    writeFileSync(keysFile, '{ not json');
    assert.match(cli('stats', dir, '--keys-file', keysFile).err, /SESSIOND_INVALID_OPTION/);
  });
});

test('revoke and rekey through the admin port of a running store: loopback, header and JSON required', async () => {
  await withDir(async (dir) => {
    const k1 = randomBytes(32);
    const engine = await SessionEngine.open({ dir, principal: 'user', encryption: { keys: { k1 }, current: 'k1' } });
    const admin = await startAdminServer({ engine, port: 0 });
    try {
      for (const id of ['a1', 'a2']) await engine.save(id, { attributes: { user: j('alice') } });
      const r = await run(process.execPath, [CLI, 'revoke', dir, 'alice', '--admin-url', admin.url, '--json']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal((JSON.parse(r.stdout) as { destroyed: number }).destroyed, 2);
      assert.deepEqual(ids(engine, 'alice'), []);
      await assert.rejects(engine.save('a1', { attributes: { user: j('alice') } }), (e: unknown) => isSessiondError(e, 'SESSIOND_SESSION_DESTROYED'));
      const k = await run(process.execPath, [CLI, 'rekey', dir, '--admin-url', admin.url]);
      assert.equal(k.code, 0, k.stdout + k.stderr);
      const bare = await fetch(`${admin.url}api/revoke`, { method: 'POST', body: j({ principal: 'alice' }) });
      assert.equal(bare.status, 403, 'no header: refused (a web page could send this)');
      const bad = await fetch(`${admin.url}api/revoke`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sessiond-admin': '1' }, body: j({ principal: 7 }) });
      assert.equal(bad.status, 400);
      assert.equal((await fetch(`${admin.url}api/revoke`)).status, 404, 'GET is not an action');
    } finally {
      await admin.close();
      await engine.close();
    }
  });
});

test('admin actions: only loopback peers', () => {
  for (const a of ['127.0.0.1', '127.8.9.1', '::1', '::ffff:127.0.0.1']) assert.ok(isLoopback(a), a);
  for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '::', '0.0.0.0', 'localhost', undefined]) assert.ok(!isLoopback(a), String(a));
});
