// Integration tests of SessiondFastifyStore through @fastify/session's real request cycle
// (fastify.inject), and of its callback API on its own (SPEC A2, E1, E10).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import { SessiondFastifyStore } from '../../src/adapters/fastify.js';
import { ManualClock } from '../../src/clock.js';
import { isSessiondError } from '../../src/errors.js';
import { cookiePair, removeDir, tempDir, HANG_GUARD } from './adapter-fixtures.js';
import { FASTIFY_SECRET, createFastifyApp } from './fastify-app.js';

type Cb<T> = (err: unknown, v?: T) => void;

function call<T>(fn: (cb: Cb<T>) => void): Promise<{ args: unknown[] }> {
  return new Promise((resolve) => fn((...args: unknown[]) => resolve({ args })));
}

async function withStore(t: { after(fn: () => Promise<void>): void }, over: Record<string, unknown> = {}): Promise<SessiondFastifyStore> {
  const dir = tempDir('fastify');
  const store = new SessiondFastifyStore({ dir, ...over });
  t.after(async () => {
    await store.close();
    removeDir(dir);
  });
  return store;
}

function sessionCookie(res: LightMyRequestResponse): string {
  return cookiePair(res.headers['set-cookie'] as string | string[] | undefined, 'sessionId');
}

async function json(app: FastifyInstance, method: 'GET' | 'POST', url: string, cookie?: string): Promise<{ status: number; body: unknown; res: LightMyRequestResponse }> {
  const res = await app.inject({ method, url, headers: cookie === undefined ? {} : { cookie } });
  return { status: res.statusCode, body: res.json(), res };
}

test('login, increments and logout run through @fastify/session on the store', HANG_GUARD, async (t) => {
  const store = await withStore(t);
  const app = await createFastifyApp({ store, cookieMaxAgeMs: 60_000 });
  const login = await json(app, 'POST', '/login');
  assert.equal(login.status, 200);
  const cookie = sessionCookie(login.res);
  for (let i = 1; i <= 3; i++) assert.deepEqual((await json(app, 'POST', '/increment', cookie)).body, { counter: i });
  assert.deepEqual((await json(app, 'GET', '/state', cookie)).body, { user: 'alice', counter: 3 });
  assert.equal((await store.engine()).count(), 1);
  await json(app, 'POST', '/logout', cookie);
  assert.deepEqual((await json(app, 'GET', '/state', cookie)).body, { user: null, counter: null });
  assert.equal((await store.engine()).count(), 0);
  await app.close();
});

test('the callback API: cb(null, undefined) on a miss, cb(null) on success, cb(null, session) on a hit', HANG_GUARD, async (t) => {
  const store = await withStore(t);
  const id = store.generateId();
  assert.deepEqual((await call((cb) => store.get(id, cb))).args, [null, undefined]);
  const expires = new Date(Date.now() + 60_000);
  const session = { cookie: { originalMaxAge: 60_000, expires, originalExpires: expires, path: '/', httpOnly: true }, user: 'bob' };
  assert.deepEqual((await call((cb) => store.set(id, session, cb))).args, [null]);
  // Exactly what was set, as JSON: no field dropped (originalExpires), none moved.
  assert.deepEqual((await call((cb) => store.get(id, cb))).args, [null, JSON.parse(JSON.stringify(session))]);
  assert.equal((await store.engine()).get(id)?.expiresAtMs, expires.getTime());
  assert.deepEqual((await call((cb) => store.destroy(id, cb))).args, [null]);
  assert.deepEqual((await call((cb) => store.get(id, cb))).args, [null, undefined]);
  for (const bad of ['', 'x'.repeat(513), '\ud800', 'short', '../../etc/passwd']) {
    assert.deepEqual((await call((cb) => store.get(bad, cb))).args, [null, undefined], bad);
    assert.deepEqual((await call((cb) => store.destroy(bad, cb))).args, [null], bad);
  }
});

test('bad cookies count as no session: tampered, unsigned, garbage, signed malformed ID', HANG_GUARD, async (t) => {
  const store = await withStore(t);
  const app = await createFastifyApp({ store, serialize: true });
  const good = sessionCookie((await json(app, 'POST', '/login')).res);
  const signed = decodeURIComponent(good.slice('sessionId='.length));
  const id = signed.slice(0, signed.lastIndexOf('.'));
  const signer = new fastifyCookie.Signer(FASTIFY_SECRET, 'sha256');
  const bad = [
    `sessionId=${encodeURIComponent(`${id}.AAAAtampered`)}`,
    `sessionId=${id}`,
    'sessionId=%%%garbage%%%; other=1',
    `sessionId=${encodeURIComponent(signer.sign('short'))}`,
    `sessionId=${encodeURIComponent(signer.sign('../../etc/passwd'))}`,
  ];
  for (const cookie of bad) {
    const r = await json(app, 'GET', '/state', cookie);
    assert.equal(r.status, 200, cookie);
    assert.deepEqual(r.body, { user: null, counter: null }, cookie);
  }
  assert.deepEqual((await json(app, 'GET', '/state', good)).body, { user: 'alice', counter: 0 });
  await app.close();
});

test('expiry follows the injected clock to the millisecond', HANG_GUARD, async (t) => {
  const clock = new ManualClock(Date.now());
  const store = await withStore(t, { clock });
  const app = await createFastifyApp({ store, cookieMaxAgeMs: 60_000 });
  const cookie = sessionCookie((await json(app, 'POST', '/login')).res);
  const engine = await store.engine();
  const [id] = engine.ids();
  const expiresAtMs = engine.get(id!)!.expiresAtMs;
  clock.set(expiresAtMs - 1);
  assert.notDeepEqual((await call((cb) => store.get(id!, cb))).args, [null, undefined]);
  clock.set(expiresAtMs);
  assert.deepEqual((await call((cb) => store.get(id!, cb))).args, [null, undefined]);
  assert.deepEqual((await json(app, 'GET', '/state', cookie)).body, { user: null, counter: null });
  await app.close();
});

test('an oversized session is a typed error in set and 413 through the app', HANG_GUARD, async (t) => {
  const store = await withStore(t, { sessionBytesMax: 1024 });
  const [err] = (await call((cb) => store.set(store.generateId(), { cookie: {}, big: 'x'.repeat(2048) }, cb))).args;
  assert.ok(isSessiondError(err, 'SESSIOND_SESSION_TOO_LARGE') && err.status === 413);
  const app = await createFastifyApp({ store });
  const cookie = sessionCookie((await json(app, 'POST', '/login')).res);
  assert.equal((await app.inject({ method: 'POST', url: '/big?bytes=4096', headers: { cookie } })).statusCode, 413);
  assert.deepEqual((await json(app, 'GET', '/state', cookie)).body, { user: 'alice', counter: 0 });
  await app.close();
});

test('the store is usable at once; a shared engine stays open when the store closes', HANG_GUARD, async (t) => {
  const store = await withStore(t);
  const id = store.generateId();
  assert.deepEqual((await call((cb) => store.set(id, { cookie: {}, n: 1 }, cb))).args, [null]); // before the engine is open
  const engine = await store.engine();
  const shared = new SessiondFastifyStore(engine);
  assert.deepEqual((await call((cb) => shared.get(id, cb))).args, [null, { cookie: {}, n: 1 }]);
  await shared.close();
  assert.ok(engine.get(id), 'closing the sharing store left the engine open');
  assert.throws(() => new SessiondFastifyStore({ dir: '/nonexistent', bogus: 1 } as never), (e) => isSessiondError(e, 'SESSIOND_INVALID_OPTION') && e.message.includes('bogus'));
});
