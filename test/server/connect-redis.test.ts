// Integration tests: express-session + connect-redis 9 + node-redis 5, unchanged, against
// `sessiond serve` (the same flows as test/adapters/express.test.ts and tombstone.test.ts),
// in RESP2 and in RESP3.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createClient, type RedisClientType } from 'redis';
import { RedisStore } from 'connect-redis';
import type session from 'express-session';
import { Arrivals, Gate, cookiePair, serveLocal, type After } from '../adapters/adapter-fixtures.js';
import { assertLoginFlow, call, createTestApp } from '../adapters/express-app.js';
import { HANG_GUARD, startServer, type TestServer } from './server-fixtures.js';

async function redisClient(t: After, port: number, resp: 2 | 3 = 2): Promise<RedisClientType> {
  const client = createClient({ url: `redis://127.0.0.1:${port}`, RESP: resp }) as RedisClientType;
  client.on('error', () => undefined); // reconnects are tested elsewhere
  await client.connect();
  t.after(() => client.destroy());
  return client;
}

async function withApp(t: After, s: TestServer, resp: 2 | 3, over: Parameters<typeof createTestApp>[0] extends infer O ? Partial<O> : never = {}) {
  const client = await redisClient(t, s.port, resp);
  const store = new RedisStore({ client });
  const url = await serveLocal(t, createTestApp({ store, cookieMaxAgeMs: 60_000, ...over }));
  return { client, store, url };
}

for (const resp of [2, 3] as const) {
  describe(`express-session + connect-redis + node-redis (RESP${resp}) against sessiond serve`, () => {
    it('login, increments and logout run through express-session', HANG_GUARD, async (t) => {
      const s = await startServer();
      t.after(() => s.close());
      const { client, store, url } = await withApp(t, s, resp);
      assert.match(String(await client.sendCommand(['CLIENT', 'INFO'])), new RegExp(` resp=${resp} lib-name=node-redis`));
      const agent = request.agent(url);
      await assertLoginFlow(agent, store);
    });

    it('set, get, touch, all, ids, length and clear of the store', HANG_GUARD, async (t) => {
      const s = await startServer();
      t.after(() => s.close());
      const { client, store } = await withApp(t, s, resp);
      const expires = new Date(Date.now() + 60_000);
      const data = { cookie: { originalMaxAge: 60_000, expires }, user: 'bob', nested: { a: [1, 2] } } as unknown as session.SessionData;
      await call((cb) => store.set('id-one', data, cb));
      assert.deepEqual(await call((cb) => store.get('id-one', cb)), JSON.parse(JSON.stringify(data)));
      const ttl = await client.ttl('sess:id-one');
      assert.ok(ttl >= 59 && ttl <= 60, `ttl ${ttl}`);
      const later = { ...data, cookie: { originalMaxAge: 600_000, expires: new Date(Date.now() + 600_000) } } as unknown as session.SessionData;
      await call((cb) => store.touch('id-one', later, cb));
      assert.ok((await client.ttl('sess:id-one')) >= 599);
      await call((cb) => store.set('id-two', data, cb));
      await call((cb) => store.set('id-three', data, cb));
      assert.equal(await call<number>((cb) => store.length(cb)), 3);
      assert.deepEqual((await call<string[]>((cb) => store.ids(cb)))!.sort(), ['id-one', 'id-three', 'id-two']);
      const all = (await call<(session.SessionData & { id: string })[]>((cb) => store.all(cb)))!;
      assert.deepEqual(all.map((x) => x.id).sort(), ['id-one', 'id-three', 'id-two']);
      await call((cb) => store.destroy('id-one', cb));
      assert.equal(await call((cb) => store.get('id-one', cb)), null);
      await call((cb) => store.clear(cb));
      assert.equal(await call<number>((cb) => store.length(cb)), 0);
      assert.equal(await call((cb) => store.get('missing', cb)), null);
    });

    it('a save in flight at logout does not bring the session back (connect-redis #328), not even after a restart', HANG_GUARD, async (t) => {
      const s = await startServer();
      const gate = new Gate();
      const reached = new Arrivals();
      const { url } = await withApp(t, s, resp, { beforeWrite: () => (reached.arrive(), gate.opened) });
      const cookie = cookiePair((await request(url).post('/login').expect(200)).headers['set-cookie'], 'connect.sid');
      const inFlight = request(url).post('/increment').set('Cookie', cookie).then((r) => r.status);
      await reached.reached(1); // it has loaded the session and is about to write it back
      await request(url).post('/logout').set('Cookie', cookie).expect(200);
      gate.open();
      assert.equal(await inFlight, 200, 'the late SET is a quiet nil reply, not an error page');
      assert.deepEqual((await request(url).get('/state').set('Cookie', cookie).expect(200)).body, { user: null, counter: null });
      await s.server.close();
      const s2 = await startServer({}, s.dir);
      t.after(() => s2.close());
      const c2 = await redisClient(t, s2.port, resp);
      assert.equal(await c2.dbSize(), 0, 'deleted sessions stay deleted after a restart');
    });
  });
}
