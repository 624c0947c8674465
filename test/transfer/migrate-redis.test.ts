/**
 * Moving from connect-redis (kind: integration with the machine's Redis on 127.0.0.1:6379,
 * keys under a prefix of this run's own, deleted at the end). Sessions are written by
 * connect-redis 9 on node-redis 5, exported with `sessiond export --from-redis`, imported
 * with `sessiond import`, and read through sessiond's express store. Under CI=true a
 * missing Redis fails the test; elsewhere it is skipped with a loud message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { RedisStore } from 'connect-redis';
import { CLI, run } from '../server/server-process.js';
import { assertImportedLikeOldStore, expressSessions } from './migration-fixtures.js';

const REDIS_URL = process.env.SESSIOND_TEST_REDIS ?? 'redis://127.0.0.1:6379';

async function connect(): Promise<ReturnType<typeof createClient> | undefined> {
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 2000, reconnectStrategy: false } });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (e) {
    const why = `Redis at ${REDIS_URL} is not reachable (${(e as Error).message})`;
    if (process.env.CI === 'true') throw new Error(`${why}: the connect-redis migration test needs it under CI`);
    console.error(`\n!!! SKIPPING the connect-redis migration test: ${why} !!!\n`);
    return undefined;
  }
}

test('sessions written by connect-redis read back identically through the express store after export --from-redis and import, expiry within a second of PTTL', { timeout: 120_000 }, async (t) => {
  const client = await connect();
  if (client === undefined) return t.skip('no Redis');
  // Glob characters in the prefix must match themselves (SCAN MATCH escaping).
  const prefix = `sessiond-export-test:${process.pid}:${randomBytes(4).toString('hex')}[*]:`;
  const root = mkdtempSync(join(tmpdir(), 'export-redis-'));
  const store = new RedisStore({ client, prefix });
  try {
    const sessions = expressSessions();
    for (const [sid, s] of sessions) await store.set(sid, s);
    // A neighbour that must not be exported: the same prefix without the glob characters' literal form.
    await client.set(prefix.replace('[*]', 'X'), '{"cookie":{}}', { expiration: { type: 'EX', value: 60 } });
    const file = join(root, 'from-redis.jsonl');
    const ex = await run(process.execPath, [CLI, 'export', '--from-redis', REDIS_URL, '--prefix', prefix, '--out', file]);
    assert.equal(ex.code, 0, ex.stderr);
    await assertImportedLikeOldStore(file, join(root, 'store'), store, sessions.keys(), async (sid) => Date.now() + (await client.pTTL(prefix + sid)));
  } finally {
    for await (const keys of client.scanIterator({ MATCH: `sessiond-export-test:${process.pid}:*`, COUNT: 1000 })) if (keys.length > 0) await client.del(keys);
    await client.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test('export --from-redis against a Redis that does not answer fails with SESSIOND_MIGRATION_SOURCE and leaves no output file', { timeout: 60_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'export-redis-'));
  try {
    const file = join(root, 'x.jsonl');
    // Port 1 on loopback: nothing listens there.
    const r = await run(process.execPath, [CLI, 'export', '--from-redis', 'redis://127.0.0.1:1', '--out', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /SESSIOND_MIGRATION_SOURCE: .*redis: cannot connect/);
    assert.throws(() => readFileSync(file));
    assert.throws(() => readFileSync(file + '.partial'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
