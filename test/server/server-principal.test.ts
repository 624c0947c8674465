// sessiond serve with --principal and encryption: values indexed by the principal in their
// JSON, revoked through the admin port, sealed at rest (kind: integration, in-process server
// and a CLI child).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RawClient, startServer } from './server-fixtures.js';
import { CLI, run } from './server-process.js';
import { valuePrincipal } from '../../src/server/value-principal.js';

const MARKER = 'serve-marker-5d1e';

test('valuePrincipal reads a dotted path of a JSON value; anything else has none', () => {
  const p = valuePrincipal('passport.user') as (s: { id: string; attributes: ReadonlyMap<string, string> }) => string | undefined;
  const of = (v: string | undefined): string | undefined => p({ id: 'x', attributes: new Map(v === undefined ? [] : [['v', JSON.stringify(v)]]) });
  assert.equal(of('{"passport":{"user":"alice"}}'), 'alice');
  assert.equal(of('{"passport":{"user":42}}'), '42');
  for (const v of ['{"passport":{}}', '{"passport":"x"}', 'not json', '{"passport":{"user":{"id":1}}}', undefined]) assert.equal(of(v), undefined, String(v));
});

test('serve: revoke through the admin port deletes every key of the principal; a late SET is refused; values are sealed at rest', async () => {
  const t = await startServer({ adminPort: 0, engine: { principal: valuePrincipal('userId'), encryption: { keys: { k1: randomBytes(32) }, current: 'k1' } } });
  const c = await RawClient.connect(t.port);
  try {
    for (const k of ['sess:a', 'sess:b']) assert.equal(await c.call('SET', k, JSON.stringify({ userId: 'alice', note: MARKER }), 'EX', '3600'), 'OK');
    assert.equal(await c.call('SET', 'sess:c', JSON.stringify({ userId: 'bob' }), 'EX', '3600'), 'OK');
    const r = await run(process.execPath, [CLI, 'revoke', t.dir, 'alice', '--admin-url', t.server.admin!.url, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((JSON.parse(r.stdout) as { destroyed: number }).destroyed, 2);
    assert.equal(await c.call('GET', 'sess:a'), null);
    assert.notEqual(await c.call('GET', 'sess:c'), null);
    assert.equal(await c.call('SET', 'sess:b', JSON.stringify({ userId: 'alice' }), 'EX', '3600'), null, 'a late SET ... EX of a revoked session is refused, as after a DEL');
    for (const f of readdirSync(t.dir)) assert.ok(!readFileSync(join(t.dir, f)).includes(MARKER), `${f} holds a value in clear`);
  } finally {
    c.socket.destroy();
    await t.close();
  }
});
