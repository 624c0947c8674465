/**
 * Test support for the Redis global store (kind: integration with a real server): the
 * machine's Redis on 127.0.0.1:6379 (shared: every run uses its own key prefix and deletes
 * only its own keys), or a cluster started by the test (redis-cluster-harness.ts). Under
 * CI=true a missing Redis fails the test; elsewhere the tests skip with a loud message.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisGlobalStore, type RedisStoreOptions } from '../../src/global/redis/redis-global-store.js';
import { escapeName } from '../../src/global/redis/redis-context.js';
import type { RedisCommander } from '../../src/global/redis/redis-types.js';
import type { ContractHarness } from './global-store-contract.js';

export const REDIS_URL = process.env.SESSIOND_TEST_REDIS ?? 'redis://127.0.0.1:6379';

/** Resolves a reason to skip, or undefined when Redis answers. Throws under CI. */
export async function redisMissing(url = REDIS_URL): Promise<string | undefined> {
  const c = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.ping();
    return undefined;
  } catch (e) {
    const why = `Redis at ${url} is not reachable (${String((e as Error).message)})`;
    if (process.env.CI === 'true') throw new Error(`${why}: the Redis global store tests need it under CI`);
    console.error(`\n!!! SKIPPING Redis global store tests: ${why} !!!\n`);
    return why;
  } finally {
    c.disconnect();
  }
}

/** A key prefix of its own on the machine's Redis when it answers; undefined (the tests skip) when not, outside CI. */
export async function redisTestPrefix(): Promise<RedisTestPrefix | undefined> {
  return (await redisMissing()) === undefined ? RedisTestPrefix.standalone() : undefined;
}

/** Runs `f` on a key prefix of its own on the machine's Redis, then drops it; skips the test when Redis is not reachable. */
export async function withRedisPrefix(t: { skip(message: string): void }, f: (r: RedisTestPrefix) => Promise<void>): Promise<void> {
  const r = await redisTestPrefix();
  if (r === undefined) return t.skip('Redis not reachable');
  try {
    await f(r);
  } finally {
    await r.drop();
  }
}

/** A key prefix of its own for one test file, the stores made on it, and admin access to its keys. */
export class RedisTestPrefix {
  readonly prefix = `sessiond-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
  private readonly stores: RedisGlobalStore[] = [];

  /**
   * `source` is where the stores connect; `admin` runs the test's own commands and
   * `masters` lists the nodes to SCAN for this prefix's keys.
   */
  constructor(
    readonly source: Pick<RedisStoreOptions, 'redis' | 'redisCluster'>,
    readonly admin: RedisCommander & { quit(): Promise<unknown> },
    private readonly masters: () => RedisCommander[],
  ) {}

  static standalone(url = REDIS_URL): RedisTestPrefix {
    const admin = new Redis(url);
    admin.on('error', () => undefined);
    return new RedisTestPrefix({ redis: { url } }, admin, () => [admin]);
  }

  async store(over: Partial<RedisStoreOptions> = {}): Promise<RedisGlobalStore> {
    const s = await RedisGlobalStore.create({ ...this.source, app: 'app', keyPrefix: this.prefix, sessionTtlMs: 60_000, timeoutMs: 5000, ...over });
    this.stores.push(s);
    return s;
  }

  /** This prefix's keys matching `tail` (a glob after the prefix), from every master. */
  async keys(tail = '*'): Promise<string[]> {
    const out = new Set<string>();
    const pattern = this.prefix.replace(/[*?[\]\\]/g, (c) => '\\' + c) + tail;
    for (const node of this.masters()) {
      let cursor = '0';
      do {
        const [next, batch] = (await node.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000)) as [string, string[]];
        cursor = next;
        for (const k of batch) out.add(k);
      } while (cursor !== '0');
    }
    return [...out];
  }

  /**
   * Makes a server's lease lapse now: its lease keys (every app) are deleted, and the
   * stores re-read the leases they hold (what time does on its own through the deadline).
   */
  async expireLease(serverId: string): Promise<void> {
    for (const k of await this.keys(`*:lease:${escapeName(serverId).replace(/[*?[\]\\]/g, (c) => '\\' + c)}`)) await this.admin.call('DEL', k);
    for (const s of this.stores) await s.checkLeases();
  }

  /** This prefix as the global store contract's harness (Redis removes a record at its expiry by itself). */
  contractHarness(): ContractHarness {
    return {
      store: (app = 'app', tombstoneMs?: number) => this.store({ app, tombstoneMs }),
      expireLease: (serverId) => this.expireLease(serverId),
      teardown: () => this.drop(),
      expiresNatively: true,
    };
  }

  /** Closes the stores and deletes every key of this prefix (and nothing else). */
  async drop(): Promise<void> {
    for (const s of this.stores) await s.close().catch(() => undefined);
    for (const k of await this.keys()) await this.admin.call('DEL', k);
    await this.admin.quit();
  }
}
