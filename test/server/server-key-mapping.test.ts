// The key → engine ID mapping of sessiond serve (docs/server.md "Keys and values"): session
// keys are their own engine IDs, binary and long keys are hashed under a NUL prefix, and a
// store written with the old mapping (every ID a SHA-256 of the key) is refused with a typed
// error until `migrateKeys` rewrites it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { isSessiondError } from '../../src/errors.js';
import { serve } from '../../src/server/server.js';
import { KEY_MAPPING_FILE } from '../../src/server/serve-key-mapping.js';
import { removeDir, tempDir } from '../adapters/adapter-fixtures.js';
import { HANG_GUARD, RawClient, startWithClient, text } from './server-fixtures.js';

/** What sessiond serve wrote before mapping 2: ID = base64url SHA-256 of the key, key in `k`. */
async function writeMapping1Store(dir: string, entries: [key: Buffer, value: string, expiresAtMs: number][]): Promise<void> {
  const engine = await SessionEngine.open({ dir });
  for (const [key, value, expiresAtMs] of entries) {
    const id = createHash('sha256').update(key).digest('base64url');
    await engine.save(id, { attributes: { k: JSON.stringify(key.toString('latin1')), v: JSON.stringify(value) }, expiresAtMs });
  }
  await engine.close();
}

describe('sessiond serve key mapping', () => {
  it('stores a UTF-8 key under itself, and binary, empty, long or NUL-led keys under distinct hashes', HANG_GUARD, async (t) => {
    const { s, c } = await startWithClient(t);
    const long = 'x'.repeat(513);
    const at512 = 'é'.repeat(256); // 512 UTF-8 bytes: still direct
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    const nulLed = Buffer.from('\u0000sess:a');
    const keys: (string | Buffer)[] = ['sess:abc', at512, long, binary, nulLed, ''];
    for (const [i, k] of keys.entries()) assert.equal(await c.call('SET', k, `v${i}`), 'OK');
    for (const [i, k] of keys.entries()) assert.equal(text(await c.call('GET', k)), `v${i}`);
    const engine = s.server.engine;
    assert.equal(engine.get('sess:abc') !== undefined, true, 'a session key is its own engine ID');
    assert.equal(engine.get(at512) !== undefined, true);
    assert.equal(engine.get(long), undefined, 'a key over 512 bytes is hashed');
    assert.equal(engine.get('\u0000sess:a'), undefined, 'a NUL-led key is hashed, never its own ID');
    const ids = engine.ids();
    assert.equal(ids.length, keys.length, 'no two keys share an ID');
    assert.equal(ids.filter((id) => id.startsWith('\u0000')).length, 4, 'long, binary, NUL-led and empty keys are hashed');
    // SCAN returns the keys as sent, hashed or not.
    const seen: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = (await c.call('SCAN', cursor, 'COUNT', '2')) as [Buffer, Buffer[]];
      cursor = next.toString();
      seen.push(...batch.map((b) => b.toString('hex')));
    } while (cursor !== '0');
    assert.deepEqual(seen.sort(), keys.map((k) => Buffer.from(k).toString('hex')).sort());
    assert.equal(readFileSync(join(s.dir, KEY_MAPPING_FILE), 'utf8'), 'sessiond serve key mapping 2\n');
  });

  it('never lets a key spelled like another key\'s hashed ID take its place', HANG_GUARD, async (t) => {
    const { c } = await startWithClient(t);
    const binary = Buffer.from([0xc3, 0x28]); // not UTF-8: hashed
    const impostor = `\u0000${createHash('sha256').update(binary).digest('base64url')}`; // valid UTF-8, NUL-led
    assert.equal(await c.call('SET', binary, 'real'), 'OK');
    assert.equal(await c.call('SET', impostor, 'impostor'), 'OK');
    assert.equal(text(await c.call('GET', binary)), 'real');
    assert.equal(text(await c.call('GET', impostor)), 'impostor');
    assert.equal(await c.call('DBSIZE'), 2);
  });

  it('refuses a store written with the old mapping, and migrates it with migrateKeys', HANG_GUARD, async (t) => {
    const dir = tempDir('serve-mapping');
    t.after(() => removeDir(dir));
    const future = Date.now() + 3_600_000;
    await writeMapping1Store(dir, [
      [Buffer.from('sess:one'), '{"a":1}', 0],
      [Buffer.from('sess:two'), '{"b":2}', future],
      [Buffer.from([0xff, 0x01]), 'bin', 0],
    ]);
    await assert.rejects(serve({ dir, port: 0 }), (e: unknown) => isSessiondError(e, 'SESSIOND_KEY_MAPPING') && e.context.sessions === 3 && /--migrate-keys/.test(e.message));
    assert.equal(existsSync(join(dir, KEY_MAPPING_FILE)), false, 'a refused store is not marked');
    const server = await serve({ dir, port: 0, migrateKeys: true });
    const c = await RawClient.connect(server.port!);
    try {
      assert.equal(text(await c.call('GET', 'sess:one')), '{"a":1}');
      assert.equal(text(await c.call('GET', 'sess:two')), '{"b":2}');
      assert.equal(text(await c.call('GET', Buffer.from([0xff, 0x01]))), 'bin');
      assert.equal(await c.call('PTTL', 'sess:one'), -1);
      const left = (await c.call('PTTL', 'sess:two')) as number;
      assert.ok(left > 3_500_000 && left <= 3_600_000, `expiry kept: ${left}`);
      assert.equal(await c.call('DBSIZE'), 3, 'the old IDs are gone');
      assert.equal(server.engine.get('sess:one') !== undefined, true);
    } finally {
      c.close();
      await server.close();
    }
    // Marked: the next open neither refuses nor migrates.
    const again = await serve({ dir, port: 0 });
    await again.close();
  });

  it('refuses a store whose serve-keys names an unknown mapping or is not a mapping line', HANG_GUARD, async (t) => {
    const dir = tempDir('serve-mapping');
    t.after(() => removeDir(dir));
    const s = await serve({ dir, port: 0 });
    await s.close();
    writeFileSync(join(dir, KEY_MAPPING_FILE), 'sessiond serve key mapping 3\n');
    await assert.rejects(serve({ dir, port: 0 }), (e: unknown) => isSessiondError(e, 'SESSIOND_KEY_MAPPING') && e.context.mapping === 3);
    writeFileSync(join(dir, KEY_MAPPING_FILE), 'garbage');
    await assert.rejects(serve({ dir, port: 0 }), (e: unknown) => isSessiondError(e, 'SESSIOND_KEY_MAPPING'));
  });
});
