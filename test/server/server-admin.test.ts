// sessiond serve's admin port: /metrics carries the engine's and the server's own metrics,
// it binds loopback unless told otherwise, closes with the server, and the CLI's
// --admin-port opens it (kind: integration, in-process server and a CLI child).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, startServer } from './server-fixtures.js';
import { spawnServer } from './server-process.js';
import { removeDir, tempDir } from '../adapters/adapter-fixtures.js';
import { isSessiondError } from '../../src/errors.js';

function metricValue(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  assert.ok(m !== null, `${name} missing from /metrics`);
  return Number(m[1]);
}

test('serve with adminPort: /metrics has the engine and server metrics, which move with commands; loopback; closed with the server', async () => {
  const t = await startServer({ adminPort: 0 });
  try {
    const admin = t.server.admin;
    assert.ok(admin !== undefined);
    assert.match(admin.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const before = await (await fetch(`${admin.url}metrics`)).text();
    const c = await RawClient.connect(t.port);
    assert.equal(await c.call('SET', 'sess:a', 'v1'), 'OK');
    assert.equal(await c.call('SET', 'sess:b', 'v2'), 'OK');
    const after = await (await fetch(`${admin.url}metrics`)).text();
    assert.ok(metricValue(after, 'sessiond_server_commands_total') >= metricValue(before, 'sessiond_server_commands_total') + 2);
    assert.equal(metricValue(after, 'sessiond_server_connections'), 1);
    assert.equal(metricValue(after, 'sessiond_sessions_live'), 2);
    c.close();
  } finally {
    const url = t.server.admin!.url;
    await t.close();
    await assert.rejects(fetch(`${url}metrics`), 'the admin port closes with the server');
  }
});

test('serve without adminPort opens no admin port; a bad adminPort is refused by name', async () => {
  const t = await startServer();
  try {
    assert.equal(t.server.admin, undefined);
  } finally {
    await t.close();
  }
  const dir = tempDir('serve-admin-bad');
  try {
    await assert.rejects(startServer({ adminPort: 70_000 }, dir), (e) => isSessiondError(e, 'SESSIOND_INVALID_OPTION') && e.context.option === 'adminPort');
  } finally {
    removeDir(dir);
  }
});

test('sessiond serve --admin-port prints where the admin port is and serves /metrics there', async () => {
  const dir = tempDir('serve-admin-cli');
  const p = await spawnServer(dir, ['--port', '0', '--admin-port', '0']);
  try {
    let m: RegExpExecArray | null = null;
    for (let i = 0; i < 200 && m === null; i++) {
      m = /sessiond admin page and \/metrics on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(p.output());
      if (m === null) await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(m !== null, `no admin line in: ${p.output()}`);
    const res = await fetch(`${m[1]}metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^sessiond_server_connections_total /m);
  } finally {
    p.child.kill('SIGTERM');
    await p.exited;
    removeDir(dir);
  }
});
