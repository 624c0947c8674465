// "Log out everywhere" through every framework store (SPEC B5): store.sessionsOf and
// store.destroyAllOf on express-session, @fastify/session and koa-session stores, with the
// principal taken from a session property (the `principal` engine option). Unit tests on
// the simulated file layer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import type { SessionData } from 'express-session';
import { SessiondStore } from '../../src/adapters/express.js';
import { SessiondFastifyStore } from '../../src/adapters/fastify.js';
import { sessiondKoaStore } from '../../src/adapters/koa.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import type { EngineOptionsInput } from '../../src/options.js';

const options = (seed: number): EngineOptionsInput => ({ dir: '/a', fs: new SimFileSystem(seed), clock: new ManualClock(1_700_000_000_000), principal: 'userId' });

interface Store {
  set(id: string, userId: string): Promise<void>;
  has(id: string): Promise<boolean>;
  sessionsOf(p: string): Promise<string[]>;
  destroyAllOf(p: string, o?: { except?: string | readonly string[] }): Promise<number>;
  close(): Promise<void>;
}

function express(): Store {
  const s = new SessiondStore(options(1));
  const cookie = { originalMaxAge: 60_000, expires: new Date(1_700_000_060_000) };
  return {
    set: (id, userId) => promisify(s.set.bind(s))(id, { cookie, userId } as unknown as SessionData),
    has: async (id) => (await promisify(s.get.bind(s))(id)) != null,
    sessionsOf: (p) => s.sessionsOf(p),
    destroyAllOf: (p, o) => s.destroyAllOf(p, o),
    close: () => s.close(),
  };
}

function fastify(): Store {
  const s = new SessiondFastifyStore(options(2));
  const cookie = { originalMaxAge: 60_000, expires: new Date(1_700_000_060_000) };
  return {
    set: (id, userId) => promisify(s.set.bind(s))(id, { cookie, userId } as never),
    has: async (id) => (await promisify(s.get.bind(s))(id)) != null,
    sessionsOf: (p) => s.sessionsOf(p),
    destroyAllOf: (p, o) => s.destroyAllOf(p, o),
    close: () => s.close(),
  };
}

function koa(): Store {
  const s = sessiondKoaStore(options(3));
  return {
    set: (id, userId) => s.set(id, { userId, _expire: 1_700_000_060_000, _maxAge: 60_000 } as never, 60_000, {} as never),
    has: async (id) => (await s.get(id, 60_000, {} as never)) != null,
    sessionsOf: (p) => s.sessionsOf(p),
    destroyAllOf: (p, o) => s.destroyAllOf(p, o),
    close: () => s.close(),
  };
}

for (const [name, make] of [['express-session', express], ['@fastify/session', fastify], ['koa-session', koa]] as const) {
  test(`${name} store: destroyAllOf logs the principal out everywhere but the current session`, async () => {
    const store = make();
    try {
      for (const id of ['phone', 'laptop', 'tablet']) await store.set(id, 'alice');
      await store.set('other', 'bob');
      assert.deepEqual((await store.sessionsOf('alice')).sort(), ['laptop', 'phone', 'tablet']);
      assert.equal(await store.destroyAllOf('alice', { except: 'laptop' }), 2);
      assert.deepEqual(await store.sessionsOf('alice'), ['laptop']);
      assert.equal(await store.has('phone'), false);
      assert.equal(await store.has('laptop'), true);
      assert.equal(await store.has('other'), true);
      await store.set('phone', 'alice'); // a late save of a revoked session is a silent no-op
      assert.equal(await store.has('phone'), false);
    } finally {
      await store.close();
    }
  });
}
