/** The `global:` options: validated once, unknown keys refused by name, documented (kind: unit). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isSessiondError } from '../../src/errors.js';
import { GLOBAL_OPTION_SPECS, defaultServerId, resolveGlobalOptions } from '../../src/global/global-options.js';
import { EngineHandle } from '../../src/adapters/engine-handle.js';
import { SessionEngine } from '../../src/engine/session-engine.js';

const base = { postgres: { connectionString: 'postgres://x@127.0.0.1/db' }, app: 'shop' };
const refused = (input: unknown, option: string): void =>
  assert.throws(() => resolveGlobalOptions(input, '/d'), (e: unknown) => isSessiondError(e, 'SESSIOND_INVALID_OPTION') && e.context.option === option, option);

test('fills the defaults and freezes', () => {
  const o = resolveGlobalOptions(base, '/d');
  assert.equal(o.mode, 'through');
  assert.equal(o.leaseMs, 10_000);
  assert.equal(o.heartbeatMs, 3333);
  assert.equal(o.turnMs, 10_000);
  assert.equal(o.serverId, defaultServerId('/d'));
  assert.ok(Object.isFrozen(o));
  assert.equal(resolveGlobalOptions({ ...base, leaseMs: 3000 }, '/d').heartbeatMs, 1000);
  assert.equal(resolveGlobalOptions({ ...base, mode: 'back' }, '/d').mode, 'back');
  assert.equal(o.clockDriftMarginMs, 500);
  assert.equal(o.offlineWaitMsMax, 1000);
  assert.equal(resolveGlobalOptions({ ...base, leaseMs: 2000 }, '/d').offlineWaitMsMax, 500, 'a quarter of a short lease');
});

test('the default server ID is stable for one directory and differs between two', () => {
  assert.equal(defaultServerId('/srv/a'), defaultServerId('/srv/a'));
  assert.notEqual(defaultServerId('/srv/a'), defaultServerId('/srv/b'));
});

test('refuses unknown, missing and out-of-range options by name', () => {
  refused({ ...base, leaseMS: 1 }, 'global.leaseMS');
  refused({ ...base, constructor: 1 }, 'global.constructor');
  refused({ postgres: base.postgres }, 'global.app');
  refused({ app: 'x' }, 'global.postgres');
  refused({ ...base, postgres: { connectionString: 'x', ssl: true } }, 'global.postgres.ssl');
  refused({ ...base, leaseMs: 10 }, 'global.leaseMs');
  refused({ ...base, leaseMs: 1000, heartbeatMs: 600 }, 'global.heartbeatMs');
  refused({ ...base, mode: 'behind' }, 'global.mode');
  refused({ ...base, leaseMs: 1000, clockDriftMarginMs: 600 }, 'global.clockDriftMarginMs');
  refused({ ...base, writeBackMs: 0 }, 'global.writeBackMs');
  refused({ ...base, rowAllocation: 'upsert' }, 'global.rowAllocation');
  refused({ ...base, app: '' }, 'global.app');
  refused({ ...base, leaseMs: 1000, offlineWaitMsMax: 1001 }, 'global.offlineWaitMsMax');
  refused({ ...base, offlineWaitMsMax: -1 }, 'global.offlineWaitMsMax');
});

test('takes exactly one backend: postgres, redis or redisCluster, each checked by name', () => {
  const redis = { redis: { url: 'redis://127.0.0.1:6379' }, app: 'shop' };
  const cluster = { redisCluster: { rootNodes: [{ url: 'redis://127.0.0.1:7000' }] }, app: 'shop' };
  assert.equal(resolveGlobalOptions(redis, '/d').redis?.constructor, Object);
  assert.equal(resolveGlobalOptions(redis, '/d').keyPrefix, 'sessiond:');
  assert.equal(resolveGlobalOptions(cluster, '/d').postgres, undefined);
  refused({ ...base, redis: redis.redis }, 'global.redis');
  refused({ ...redis, redisCluster: cluster.redisCluster }, 'global.redisCluster');
  refused({ app: 'x' }, 'global.postgres');
  refused({ ...redis, redis: { url: 'http://x' } }, 'global.redis');
  refused({ ...redis, redis: { url: 'redis://x', password: 'p' } }, 'global.redis.password');
  refused({ ...cluster, redisCluster: { rootNodes: [] } }, 'global.redisCluster');
  refused({ ...cluster, redisCluster: { rootNodes: [{ host: 'x' }] } }, 'global.redisCluster.rootNodes[0]');
  refused({ ...redis, keyPrefix: 'a{b}' }, 'global.keyPrefix');
  const client = { call: async () => null, quit: async () => 'OK' };
  assert.equal(resolveGlobalOptions({ ...redis, redis: client }, '/d').redis, client, 'an existing client is kept as is');
  refused({ ...cluster, redisCluster: client }, 'global.redisCluster');
});

test('a framework store refuses bad global options at construction, before opening anything', () => {
  assert.throws(
    () => new EngineHandle({ dir: '/nonexistent/never-created', global: { ...base, bogus: 1 } as never }),
    (e: unknown) => isSessiondError(e, 'SESSIOND_INVALID_OPTION') && e.context.option === 'global.bogus',
  );
});

test('README documents every global option', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const rows = new Set([...readme.matchAll(/^\| `global\.(\w+)` \|/gm)].map((m) => m[1]));
  for (const name of Object.keys(GLOBAL_OPTION_SPECS)) assert.ok(rows.has(name), `README lacks global.${name}`);
});

test('SessionEngine.open refuses global: and names GlobalSessionEngine.open, which returns the composed engine', async () => {
  await assert.rejects(
    SessionEngine.open({ dir: '/nonexistent/never-created', global: base } as never),
    (e: unknown) => isSessiondError(e, 'SESSIOND_INVALID_OPTION') && e.context.option === 'global' && /GlobalSessionEngine\.open/.test(e.message),
  );
});
