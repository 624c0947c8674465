/**
 * What a request costs in through mode on Redis (kind: integration, real Redis): a read of
 * an unchanged session, alternating between two servers, is two commands (the turn, which
 * also reads the record, and the touch that gives the turn back) and writes nothing to the
 * local log while the copy moved less than touchAfterMs ago; past that, or with an expiry
 * that moves, the local copy is touched as the record is. A regression in either shows here.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { ManualClock } from '../../src/clock.js';
import { isSessiondError } from '../../src/errors.js';
import { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import { resolveGlobalOptions } from '../../src/global/global-options.js';
import type { RedisArg, RedisClientLike } from '../../src/global/redis/redis-types.js';
import { REDIS_URL, redisMissing, RedisTestPrefix } from './redis-harness.js';

const HOUR = 3_600_000;
let n = 0;
const fresh = (): string => `ThroughCost${String(++n).padStart(4, '0')}xxxxxxxxxx`;

/** An ioredis client that records the name of every command sent through `call` (scripts as EVALSHA). */
function countingClient(sent: string[], clients: Redis[]): RedisClientLike {
  const r = new Redis(REDIS_URL, { enableAutoPipelining: true });
  clients.push(r);
  r.on('error', () => undefined);
  return {
    call: (command: string, ...args: RedisArg[]) => {
      sent.push(command);
      return r.call(command, ...args);
    },
    quit: () => r.quit(),
  };
}

describe('through mode on Redis: commands and local writes per request', () => {
  let redis: RedisTestPrefix | undefined;
  const engines: GlobalSessionEngine[] = [];
  const clients: Redis[] = []; // the stores do not close a client they were given

  before(async () => {
    if ((await redisMissing()) === undefined) redis = RedisTestPrefix.standalone();
  });
  after(async () => {
    for (const e of engines) await e.close().catch(() => undefined);
    for (const c of clients) c.disconnect();
    await redis?.drop();
  });

  async function server(name: string, clock: ManualClock, sent: string[], over: Record<string, unknown> = {}): Promise<GlobalSessionEngine> {
    const g = resolveGlobalOptions({ redis: { url: REDIS_URL }, app: 'app', serverId: name, keyPrefix: redis!.prefix, leaseMs: 60_000, heartbeatMs: 30_000, inheritIntervalMs: HOUR, cleanupIntervalMs: HOUR, ...over }, '/s');
    const store = await redis!.store({ redis: countingClient(sent, clients) });
    const e = await GlobalSessionEngine.compose({ dir: '/s', fs: new SimFileSystem(), flushIntervalMs: HOUR, expiryIntervalMs: HOUR, clock }, g, store);
    engines.push(e);
    return e;
  }

  /** One request that reads the session and touches it (express-session's path for a read). */
  async function read(e: GlobalSessionEngine, id: string, expiresAtMs?: number): Promise<void> {
    const release = await e.lock(id);
    try {
      assert.ok((await e.get(id)) !== undefined);
      await e.touch(id, expiresAtMs === undefined ? {} : { expiresAtMs });
    } finally {
      release();
    }
    await new Promise((r) => setImmediate(r)); // the release's chain has run
  }

  it('a read of an unchanged session on the other server is 2 commands and no local record', async (t) => {
    if (redis === undefined) return t.skip('Redis not reachable');
    const clock = new ManualClock(Date.now());
    const sa: string[] = [];
    const sb: string[] = [];
    const [a, b] = [await server('cost-a', clock, sa), await server('cost-b', clock, sb)];
    const id = fresh();
    await a.save(id, { attributes: { n: '1' } });
    await read(b, id); // b copies the session once
    await read(a, id);
    for (let i = 0; i < 6; i++) {
      const [e, sent] = i % 2 === 0 ? ([b, sb] as const) : ([a, sa] as const);
      clock.advance(10);
      const before = e.local.get(id)!;
      sent.length = 0;
      await read(e, id);
      assert.deepEqual(sent, ['EVALSHA', 'EVALSHA'], `request ${i}: the turn (with the record) and the touch that gives it back`);
      assert.equal(e.local.get(id)!.lsn, before.lsn, `request ${i}: the copy moved less than touchAfterMs ago: no local touch record`);
    }
  });

  it('a write, and a logout, give the turn back in their own script: 2 commands each, none after', async (t) => {
    if (redis === undefined) return t.skip('Redis not reachable');
    const clock = new ManualClock(Date.now());
    const sent: string[] = [];
    const a = await server('logout-a', clock, sent);
    const id = fresh();
    await a.save(id, { attributes: { n: '1' } });
    for (const [what, change] of [
      ['write', () => a.save(id, { attributes: { n: '2' } })],
      ['logout', () => a.destroy(id)],
    ] as const) {
      sent.length = 0;
      const release = await a.lock(id);
      try {
        await change();
      } finally {
        release();
      }
      await new Promise((r) => setImmediate(r)); // the release's chain has run
      assert.deepEqual(sent, ['EVALSHA', 'EVALSHA'], `${what}: the turn, then the change that ends it (no release after)`);
    }
  });

  it('past touchAfterMs, or with an expiry that moves, the local copy is touched', async (t) => {
    if (redis === undefined) return t.skip('Redis not reachable');
    const clock = new ManualClock(Date.now());
    const a = await server('moved-a', clock, []);
    const id = fresh();
    await a.save(id, { attributes: { n: '1' } });
    const s0 = a.local.get(id)!;
    clock.advance(a.global.touchAfterMs);
    await read(a, id);
    const s1 = a.local.get(id)!;
    assert.notEqual(s1.lsn, s0.lsn, 'touched once touchAfterMs passed');
    assert.equal(s1.lastAccessAtMs, clock.now());
    clock.advance(1);
    await read(a, id, s1.expiresAtMs - 1);
    assert.equal(a.local.get(id)!.expiresAtMs, s1.expiresAtMs - 1, 'an earlier expiry is always written');
    await read(a, id, s1.expiresAtMs - 1 + a.global.touchAfterMs);
    assert.equal(a.local.get(id)!.expiresAtMs, s1.expiresAtMs - 1 + a.global.touchAfterMs, 'an expiry moved by touchAfterMs is written');
    const s2 = a.local.get(id)!;
    await read(a, id, s2.expiresAtMs + 1);
    assert.equal(a.local.get(id)!.lsn, s2.lsn, 'an expiry moved by less is not');
  });

  it('touchAfterMs 0 touches the local copy on every request', async (t) => {
    if (redis === undefined) return t.skip('Redis not reachable');
    const clock = new ManualClock(Date.now());
    const a = await server('zero-a', clock, [], { touchAfterMs: 0 });
    const id = fresh();
    await a.save(id, { attributes: { n: '1' } });
    for (let i = 0; i < 3; i++) {
      const before = a.local.get(id)!.lsn;
      await read(a, id);
      assert.notEqual(a.local.get(id)!.lsn, before, `request ${i}`);
    }
  });

  it('a touch refuses bad input with SESSIOND_INVALID_ARGUMENT before anything is written, skipped here or not', async (t) => {
    if (redis === undefined) return t.skip('Redis not reachable');
    const a = await server('input-a', new ManualClock(Date.now()), []);
    const id = fresh();
    await a.save(id, { attributes: { n: '1' } });
    const { expiresAtMs: x, lsn } = a.local.get(id)!;
    for (const input of [{ expiresAtMs: Number.NaN }, { expiresAtMs: x + 0.5 }, { expiresAtMs: -1 }, { bogus: 1 }]) {
      const release = await a.lock(id);
      try {
        await assert.rejects(a.touch(id, input as never), (e) => isSessiondError(e, 'SESSIOND_INVALID_ARGUMENT'), JSON.stringify(input));
      } finally {
        release();
      }
    }
    assert.equal(a.local.get(id)!.lsn, lsn, 'nothing written locally');
  });
});
