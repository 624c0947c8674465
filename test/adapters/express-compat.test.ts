// Integration tests (express-session's real request cycle through supertest, simulated files,
// injected clock): the cases of express-session's own suite that concern its store, in our
// words, against SessiondStore. docs/adapters.md maps each to its origin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { SessiondStore, sessiondErrorHandler, sessiondSerialize } from '../../src/adapters/express.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { cookiePair, HANG_GUARD } from './adapter-fixtures.js';

const SECRET = 'express compat secret';
const T0 = Date.UTC(2026, 0, 1);
const MIN_MS = 60_000;

declare module 'express-session' {
  interface SessionData {
    n?: number;
  }
}

type Options = Partial<session.SessionOptions> & { serialize?: boolean };

function open(t: { after(fn: () => Promise<void>): void; mock: { method: (o: object, m: string, f: () => number) => unknown } }): { store: SessiondStore; clock: ManualClock } {
  const clock = new ManualClock(T0);
  // express-session computes cookie.expires from Date.now: both clocks move together.
  t.mock.method(Date, 'now', () => clock.now());
  const store = new SessiondStore({ dir: '/s', fs: new SimFileSystem(), clock, flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000 });
  t.after(() => store.close());
  return { store, clock };
}

/** A counter app: every GET / adds one to req.session.n unless ?read; /reload, /regenerate, /unset test those calls. */
function app(store: SessiondStore, o: Options = {}): express.Express {
  const a = express();
  a.set('env', 'test');
  const { serialize, ...sessionOptions } = o;
  if (serialize === true) a.use(sessiondSerialize(store, { secret: SECRET }));
  a.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false, ...sessionOptions }));
  a.get('/', (req, res) => {
    if (req.session === undefined) return res.send('no session');
    if (req.query.read === undefined) req.session.n = (req.session.n ?? 0) + 1;
    res.send(`${req.sessionID} ${req.session.n ?? 0}`);
  });
  a.get('/reload', (req, res) => {
    store.clear(() => req.session.reload((err: unknown) => res.status(err ? 500 : 200).send(err ? (err as Error).message : 'reloaded')));
  });
  a.get('/regenerate', (req, res, next) => {
    req.session.regenerate((err) => (err ? next(err) : res.send(req.sessionID)));
  });
  a.get('/unset', (req, res) => {
    (req as { session: unknown }).session = null;
    res.send('unset');
  });
  a.use(sessiondErrorHandler());
  return a;
}

function stored(store: SessiondStore, id: string): Promise<session.SessionData | null | undefined> {
  return new Promise((resolve, reject) => store.get(id, (err, s) => (err ? reject(err as Error) : resolve(s))));
}

const idOf = (text: string): string => text.split(' ')[0]!;

test('genid making short IDs, slashes and percent signs: the session is found again, with and without sessiondSerialize', HANG_GUARD, async (t) => {
  const { store } = open(t);
  for (const serialize of [false, true]) {
    let n = 0;
    // Fresh IDs each round: a destroyed ID stays refused for tombstoneMs (docs/adapters.md).
    const ids = ['apple', '%', '/foo', 'user/1%41'].map((id) => (serialize ? `${id}+` : id));
    const a = app(store, { serialize, genid: () => ids[n++ % ids.length]! });
    for (const id of ids) {
      const first = await request(a).get('/').expect(200);
      assert.equal(idOf(first.text), id);
      const cookie = cookiePair(first.headers['set-cookie'], 'connect.sid');
      assert.equal((await request(a).get('/').set('Cookie', cookie).expect(200)).text, `${id} 2`);
      await new Promise<void>((ok) => store.destroy(id, () => ok()));
    }
  }
});

test('a session stored without a cookie property: express-session passes its own error to next (500)', HANG_GUARD, async (t) => {
  const { store } = open(t);
  const a = app(store);
  const first = await request(a).get('/').expect(200);
  await new Promise<void>((ok, ko) => store.set(idOf(first.text), { n: 7 } as never, (e) => (e ? ko(e) : ok())));
  const r = await request(a).get('/').set('Cookie', cookiePair(first.headers['set-cookie'], 'connect.sid')).expect(500);
  assert.match(r.text, /cookie|Cannot read prop/i);
});

test('a store error on get reaches next(err): attributes that are not JSON answer 500, never a crash', HANG_GUARD, async (t) => {
  const { store } = open(t);
  const a = app(store);
  const first = await request(a).get('/').expect(200);
  await (await store.engine()).save(idOf(first.text), { attributes: { n: 'not json' } });
  const r = await request(a).get('/').set('Cookie', cookiePair(first.headers['set-cookie'], 'connect.sid')).expect(500);
  assert.match(r.text, /not JSON/);
});

test('an unmodified session is touched: the store then holds the new cookie.expires (resave: false, maxAge)', HANG_GUARD, async (t) => {
  const { store, clock } = open(t);
  const a = app(store, { cookie: { maxAge: MIN_MS } });
  const first = await request(a).get('/').expect(200);
  const id = idOf(first.text);
  assert.equal(new Date((await stored(store, id))!.cookie.expires!).getTime(), T0 + MIN_MS);
  clock.advance(1000);
  await request(a).get('/?read').set('Cookie', cookiePair(first.headers['set-cookie'], 'connect.sid')).expect(200, `${id} 1`);
  assert.equal(new Date((await stored(store, id))!.cookie.expires!).getTime(), T0 + 1000 + MIN_MS);
});

test('rolling: every response sets the cookie and moves the stored expiry', HANG_GUARD, async (t) => {
  const { store, clock } = open(t);
  const a = app(store, { rolling: true, cookie: { maxAge: MIN_MS } });
  const first = await request(a).get('/').expect(200);
  const cookie = cookiePair(first.headers['set-cookie'], 'connect.sid');
  clock.advance(5000);
  const r = await request(a).get('/?read').set('Cookie', cookie).expect(200);
  assert.ok(r.headers['set-cookie'], 'the cookie is set again');
  assert.equal(new Date((await stored(store, idOf(first.text)))!.cookie.expires!).getTime(), T0 + 5000 + MIN_MS);
});

test('a session expired in the store: a new session with a new ID, and the store holds none of the old', HANG_GUARD, async (t) => {
  const { store, clock } = open(t);
  const a = app(store, { cookie: { maxAge: 5 } });
  const first = await request(a).get('/').expect(200);
  clock.advance(5);
  const second = await request(a).get('/').set('Cookie', cookiePair(first.headers['set-cookie'], 'connect.sid')).expect(200);
  assert.notEqual(idOf(second.text), idOf(first.text));
  assert.equal(second.text.split(' ')[1], '1');
  const all = await new Promise<Record<string, unknown>>((ok) => store.all((_e, s) => ok(s!)));
  assert.deepEqual(Object.keys(all), [idOf(second.text)]);
});

test('reload after the store lost the session fails with express-session\'s own error', HANG_GUARD, async (t) => {
  const { store } = open(t);
  const a = app(store);
  const first = await request(a).get('/').expect(200);
  await request(a).get('/reload').set('Cookie', cookiePair(first.headers['set-cookie'], 'connect.sid')).expect(500, 'failed to load session');
});

test('regenerate destroys the old session in the store; unset: destroy removes it', HANG_GUARD, async (t) => {
  const { store } = open(t);
  const a = app(store, { unset: 'destroy' });
  const first = await request(a).get('/').expect(200);
  const cookie = cookiePair(first.headers['set-cookie'], 'connect.sid');
  const fresh = (await request(a).get('/regenerate').set('Cookie', cookie).expect(200)).text;
  assert.notEqual(fresh, idOf(first.text));
  assert.equal(await stored(store, idOf(first.text)), undefined);
  const second = await request(a).get('/').expect(200);
  await request(a).get('/unset').set('Cookie', cookiePair(second.headers['set-cookie'], 'connect.sid')).expect(200);
  assert.equal(await stored(store, idOf(second.text)), undefined);
});

test('after close() the store emits disconnect and express-session serves without a session', HANG_GUARD, async (t) => {
  const { store } = open(t);
  const a = app(store);
  await store.close();
  await request(a).get('/').expect(200, 'no session');
});
