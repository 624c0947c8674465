// Integration smoke tests of other clients against `sessiond serve`, unchanged: ioredis,
// redis-cli and redis-benchmark (with and without pipelining), and the CLI's own contract
// (one "serving" line, a clean stop on SIGTERM with the acknowledged writes kept).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { removeDir, tempDir } from '../adapters/adapter-fixtures.js';
import { HANG_GUARD, startServer } from './server-fixtures.js';
import { CLI, run, spawnServer } from './server-process.js';

const REDIS_CLI = '/usr/bin/redis-cli';
const REDIS_BENCHMARK = '/usr/bin/redis-benchmark';

describe('other clients against sessiond serve', () => {
  it('ioredis: ready check, AUTH, commands, a pipeline and scanStream', HANG_GUARD, async (t) => {
    const s = await startServer({ password: 'pw' });
    t.after(() => s.close());
    const redis = new Redis({ port: s.port, host: '127.0.0.1', password: 'pw', connectionName: 'smoke', lazyConnect: true });
    t.after(() => redis.disconnect());
    await redis.connect(); // ioredis sends AUTH, CLIENT SETNAME and INFO (waits for loading:0)
    assert.equal(await redis.set('sess:a', 'x', 'EX', 100), 'OK');
    assert.equal(await redis.get('sess:a'), 'x');
    const aLeft = await redis.ttl('sess:a'); // rounded like redis-server's; a range, as load can delay the reply
    assert.ok(aLeft <= 100 && aLeft >= 90, `TTL ${aLeft}`);
    const results = await redis.pipeline().set('sess:b', '1').set('sess:c', '2').mget('sess:b', 'sess:c', 'nokey').del('sess:b').exec();
    assert.deepEqual(results, [[null, 'OK'], [null, 'OK'], [null, ['1', '2', null]], [null, 1]]);
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: 'sess:*', count: 1 })) keys.push(...(batch as string[]));
    assert.deepEqual(keys.sort(), ['sess:a', 'sess:c']);
    assert.equal(await redis.client('GETNAME'), 'smoke');
    await assert.rejects(redis.hget('sess:a', 'f'), /WRONGTYPE/);
  });

  it('redis-cli: commands, errors and --scan', HANG_GUARD, async (t) => {
    if (!existsSync(REDIS_CLI)) return t.skip('no redis-cli');
    const s = await startServer();
    t.after(() => s.close());
    const cli = async (...args: string[]): Promise<string> => (await run(REDIS_CLI, ['-p', String(s.port), ...args])).stdout.trim();
    assert.equal(await cli('PING'), 'PONG');
    assert.equal(await cli('SET', 'sess:x', 'hello', 'EX', '50'), 'OK');
    assert.equal(await cli('GET', 'sess:x'), 'hello');
    // Rounded like redis-server's; each redis-cli is a process of its own, so under load whole
    // seconds can pass between the SET and the TTL: a range, never a wall-clock equality.
    const ttlLeft = Number(await cli('TTL', 'sess:x'));
    assert.ok(ttlLeft <= 50 && ttlLeft >= 40, `TTL ${ttlLeft}`);
    assert.equal(await cli('SET', 'other', 'v'), 'OK');
    assert.equal(await cli('--scan', '--pattern', 'sess:*'), 'sess:x');
    assert.equal(await cli('DBSIZE'), '2');
    assert.equal(await cli('NOSUCH', 'a'), "ERR unknown command 'NOSUCH', with args beginning with: 'a'");
    assert.equal(await cli('DEL', 'sess:x', 'other'), '2');
  });

  for (const pipeline of ['1', '16']) {
    it(`redis-benchmark -t ping,set,get -n 2000 -P ${pipeline} completes without errors`, HANG_GUARD, async (t) => {
      if (!existsSync(REDIS_BENCHMARK)) return t.skip('no redis-benchmark');
      const s = await startServer();
      t.after(() => s.close());
      const r = await run(REDIS_BENCHMARK, ['-p', String(s.port), '-t', 'ping,set,get', '-n', '2000', '-P', pipeline, '-c', '20', '-r', '1000', '--csv']);
      assert.equal(r.code, 0, r.stderr);
      const rows = r.stdout.trim().split('\n').slice(1).map((l) => JSON.parse(`[${l}]`) as [string, string]);
      assert.deepEqual(rows.map((row) => row[0]), ['PING_INLINE', 'PING_MBULK', 'SET', 'GET']);
      for (const row of rows) assert.ok(Number(row[1]) > 0, `${row[0]}: ${row[1]} requests per second`);
      assert.doesNotMatch(r.stdout + r.stderr, /error|ERR/i);
      assert.ok(s.server.engine.count() > 0 && s.server.engine.count() <= 1000);
    });
  }

  it('the CLI prints one serving line, refuses a public address without a password, and stops cleanly on SIGTERM', HANG_GUARD, async (t) => {
    const dir = tempDir('serve-cli');
    t.after(() => removeDir(dir));
    const store = join(dir, 'store');
    const p = await spawnServer(store);
    assert.equal(p.line, `sessiond serving ${store} on 127.0.0.1:${p.port}`);
    const cli = async (...args: string[]): Promise<string> => (await run(REDIS_CLI, ['-p', String(p.port), ...args])).stdout.trim();
    assert.equal(await cli('SET', 'k', 'kept'), 'OK');
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0);
    assert.equal(p.output().trim(), p.line, 'exactly one line');
    const p2 = await spawnServer(store, ['--port', String(p.port)]);
    t.after(() => p2.child.kill('SIGKILL'));
    assert.equal(await cli('GET', 'k'), 'kept');
    p2.child.kill('SIGINT');
    assert.equal(await p2.exited, 0);
    const refused = await run(process.execPath, [CLI, 'serve', store, '--host', '0.0.0.0', '--port', '0']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /SESSIOND_INSECURE_BIND/);
    const pwFile = join(dir, 'pw');
    writeFileSync(pwFile, 'sekrit\n');
    const p3 = await spawnServer(store, ['--port', '0', '--password-file', pwFile]);
    t.after(() => p3.child.kill('SIGKILL'));
    const cli3 = async (...args: string[]): Promise<string> => (await run(REDIS_CLI, ['-p', String(p3.port), ...args])).stdout.trim();
    assert.equal(await cli3('GET', 'k'), 'NOAUTH Authentication required.');
    assert.equal(await cli3('--no-auth-warning', '-a', 'sekrit', 'GET', 'k'), 'kept');
    p3.child.kill('SIGTERM');
    assert.equal(await p3.exited, 0);
  });
});
