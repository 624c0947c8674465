/**
 * Moving from connect-redis as it is deployed by default (issue 12 part 3: "at least from a
 * Redis with `sess:*` keys"): connect-redis's default prefix `sess:`, and `sessiond export
 * --from-redis URL` without `--prefix`. The machine's Redis is shared, so `sess:*` there may
 * hold anyone's keys: this test starts a private redis-server (no persistence) on a free
 * loopback port. Skipped with a loud message when the binary is missing (failed under CI).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { RedisStore } from 'connect-redis';
import { CLI, run } from '../server/server-process.js';
import { assertImportedLikeOldStore, expressSessions, MIGRATED_COUNT } from './migration-fixtures.js';
import { freePort } from '../support/free-port.js';

async function privateRedis(): Promise<{ url: string; proc: ChildProcess } | undefined> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    const why = 'redis-server is not installed';
    if (process.env.CI === 'true') throw new Error(`${why}: the default-prefix migration test needs it under CI`);
    console.error(`\n!!! SKIPPING the default-prefix migration test: ${why} !!!\n`);
    return undefined;
  }
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const c = createClient({ url, socket: { connectTimeout: 500, reconnectStrategy: false } });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.ping();
      await c.close();
      return { url, proc };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  proc.kill();
  throw new Error(`the private redis-server on port ${port} did not answer`);
}

test('sessions connect-redis wrote under its default prefix sess: are exported by --from-redis without --prefix, and only they', { timeout: 120_000 }, async (t) => {
  const redis = await privateRedis();
  if (redis === undefined) return t.skip('no redis-server');
  const root = mkdtempSync(join(tmpdir(), 'export-redis-default-'));
  const client = createClient({ url: redis.url });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const store = new RedisStore({ client }); // prefix: connect-redis's default
    const sessions = expressSessions();
    for (const [sid, s] of sessions) await store.set(sid, s);
    assert.equal((await client.keys('sess:*')).length, MIGRATED_COUNT, 'connect-redis wrote sess:* keys');
    await client.set('other:sess:x', '{"cookie":{}}'); // not a session of connect-redis: never exported
    await client.set('sessx', '{"cookie":{}}');
    const file = join(root, 'from-redis.jsonl');
    const ex = await run(process.execPath, [CLI, 'export', '--from-redis', redis.url, '--out', file]);
    assert.equal(ex.code, 0, ex.stderr);
    await assertImportedLikeOldStore(file, join(root, 'store'), store, sessions.keys(), async (sid) => Date.now() + (await client.pTTL(`sess:${sid}`)));
  } finally {
    await client.close().catch(() => undefined);
    redis.proc.kill();
    rmSync(root, { recursive: true, force: true });
  }
});
