/**
 * A logout is never undone (kind: integration, the machine's Redis, own key prefix; issue 11,
 * the "logged out session came back" of the Redis Cluster chaos suite). Each failure the
 * chaos suite met is made deterministic here:
 * - a logout whose global delete failed (503: a master killed or paused mid-request) and that
 *   the browser retries on the same server, through express-session: the retry must reach
 *   the record (before the fix, the failed logout had already deleted the local copy, so
 *   express-session found no session, made a new one, and the retried logout deleted that
 *   one and answered 200 while every other server still served the user);
 * - a delete Redis acknowledged and then lost (the promoted replica never got it: here the
 *   hash is put back with direct commands): the server that acknowledged the logout deletes
 *   the record again when it next reaches the session;
 * - with replicaAckMs, a retried logout that finds the record gone on the master is
 *   acknowledged only once a replica confirms the delete (here there is no replica, so it
 *   never is: 503, not a 200 a failover could undo).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import type { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import type { GlobalStore } from '../../src/global/global-store.js';
import { SessiondStore, sessiondErrorHandler, sessiondSerialize } from '../../src/adapters/express.js';
import { isSessiondError } from '../../src/errors.js';
import { REDIS_URL, redisTestPrefix, type RedisTestPrefix } from './redis-harness.js';
import { cookieSid } from './failover-processes.js';
import { EngineFleet } from './engine-fleet.js';
import { failingDestroy } from './failing-destroy.js';

declare module 'express-session' {
  interface SessionData {
    user?: string;
  }
}

const SECRET = 'lost destroy test secret';

function app(engine: GlobalSessionEngine): express.Express {
  const store = new SessiondStore(engine);
  const a = express();
  a.use(sessiondSerialize(store, { secret: SECRET }));
  a.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false }));
  a.post('/login', (req, res, next) => {
    req.session.user = 'u1';
    req.session.save((err) => (err ? next(err) : res.json({ ok: true })));
  });
  a.get('/state', (req, res) => res.json({ user: req.session.user ?? null }));
  a.post('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.json({ ok: true }))));
  a.use(sessiondErrorHandler());
  return a;
}

describe('GlobalSessionEngine on Redis: an acknowledged logout is never undone', () => {
  let r: RedisTestPrefix | undefined;
  const fleet = new EngineFleet();
  before(async () => void (r = await redisTestPrefix()));
  after(() => fleet.close(r));

  async function server(name: string, wrap: (s: GlobalStore) => GlobalStore = (s) => s, replicaAckMs = 0): Promise<GlobalSessionEngine> {
    return fleet.compose(name, { redis: { url: REDIS_URL }, keyPrefix: r!.prefix, app: 'shop', replicaAckMs }, wrap(await r!.store({ app: 'shop', replicaAckMs })));
  }

  it('a logout that failed with 503 and is retried on the same server (express-session) deletes the record', async (t) => {
    if (r === undefined) return t.skip('Redis not reachable');
    let f: ReturnType<typeof failingDestroy> | undefined;
    const a = app(await server('web-a', (s) => (f = failingDestroy(s)).store));
    const b = app(await server('web-b'));
    const login = await request(a).post('/login').expect(200);
    const cookie = login.headers['set-cookie']![0]!.split(';')[0]!;
    f!.failNextDestroy();
    await request(a).post('/logout').set('cookie', cookie).expect(503);
    // Not logged out: every server, this one included, still serves the session.
    assert.equal((await request(a).get('/state').set('cookie', cookie).expect(200)).body.user, 'u1');
    assert.equal((await request(b).get('/state').set('cookie', cookie).expect(200)).body.user, 'u1');
    await request(a).post('/logout').set('cookie', cookie).expect(200);
    assert.equal(await (await r.store({ app: 'shop' })).load(cookieSid(cookie)), undefined, 'the acknowledged logout deleted the record');
    assert.equal((await request(b).get('/state').set('cookie', cookie).expect(200)).body.user, null, 'another server finds no user');
  });

  it('a delete Redis lost after acknowledging it is sent again by the server that acknowledged the logout', async (t) => {
    if (r === undefined) return t.skip('Redis not reachable');
    const a = await server('web-c');
    const b = await server('web-d');
    const id = 'LostDestroyAAAAAAAAAAAAAAA';
    await a.save(id, { attributes: { user: 'u1' } });
    const [key] = await r.keys(`*shop:${id}}`);
    const before = (await r.admin.call('HGETALL', key!)) as string[];
    assert.equal(await a.destroy(id), true);
    // The failover: the promoted replica never got the delete (the turn field as the logout's turn left it).
    await r.admin.call('HSET', key!, ...before);
    await r.admin.call('HSET', key!, 't', '0');
    // The next request for the session there (the adapters take its turn first, then read).
    const release = await a.lock(id);
    try {
      assert.equal(await a.get(id), undefined, 'the server that acknowledged the logout does not serve it');
    } finally {
      release();
    }
    assert.equal(await (await r.store({ app: 'shop' })).load(id), undefined, '... and deleted the record again');
    assert.equal(await b.get(id), undefined, 'another server finds nothing');
  });

  it('with replicaAckMs, a retried logout is not acknowledged until a replica confirms the delete', async (t) => {
    if (r === undefined) return t.skip('Redis not reachable');
    const info = String(await r.admin.call('INFO', 'replication'));
    if (!/connected_slaves:0/.test(info)) return t.skip('the machine Redis has replicas: the test needs WAIT to fail');
    const a = await server('web-e', undefined, 50);
    const id = 'LostDestroyBBBBBBBBBBBBBBB';
    // Nothing is confirmed without a replica: each change fails with 503, though the master keeps it.
    await assert.rejects(a.save(id, { attributes: { user: 'u1' } }), (e) => isSessiondError(e, 'SESSIOND_GLOBAL_UNAVAILABLE'));
    await assert.rejects(a.destroy(id), (e) => isSessiondError(e, 'SESSIOND_GLOBAL_UNAVAILABLE'), 'the delete is not confirmed');
    assert.equal(await (await r.store({ app: 'shop' })).load(id), undefined, 'the master deleted it');
    await assert.rejects(a.destroy(id), (e) => isSessiondError(e, 'SESSIOND_GLOBAL_UNAVAILABLE'), 'a retry finding no record is not acknowledged either');
  });
});
