// Integration tests (koa-session through supertest, @fastify/session through inject; simulated
// files, injected clock): the cases of koa-session's and @fastify/session's own suites that
// concern their store, in our words. docs/adapters.md maps each to its origin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Koa from 'koa';
import koaSession from 'koa-session';
import request from 'supertest';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import { sessiondKoaStore, type SessiondKoaStore } from '../../src/adapters/koa.js';
import { SessiondFastifyStore } from '../../src/adapters/fastify.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import type { EngineOptionsInput } from '../../src/options.js';
import { cookiePair, HANG_GUARD } from './adapter-fixtures.js';

const T0 = Date.UTC(2026, 0, 1);
const FASTIFY_SECRET = 'a fastify compat secret of at least 32 characters';

type T = { after(fn: () => Promise<void>): void; mock: { method: (o: object, m: string, f: () => number) => unknown } };

function engineOptions(t: T): { options: EngineOptionsInput; clock: ManualClock } {
  const clock = new ManualClock(T0);
  // koa-session and @fastify/session check expiry with Date.now: both clocks move together.
  t.mock.method(Date, 'now', () => clock.now());
  return { options: { dir: '/s', fs: new SimFileSystem(), clock, flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000 }, clock };
}

function koaApp(store: SessiondKoaStore, opts: Record<string, unknown>): ReturnType<Koa['callback']> {
  const app = new Koa();
  app.keys = ['koa compat key'];
  app.silent = true;
  app.use(koaSession({ store, ...opts }, app));
  app.use((ctx) => {
    const s = ctx.session as unknown as { n?: number } | null;
    if (ctx.path === '/set') (s as { n?: number }).n = ((s as { n?: number }).n ?? 0) + 1;
    if (ctx.path === '/null') ctx.session = null;
    ctx.body = { n: s?.n ?? null };
  });
  return app.callback();
}

function openKoa(t: T): { store: SessiondKoaStore; clock: ManualClock } {
  const { options, clock } = engineOptions(t);
  const store = sessiondKoaStore(options);
  t.after(() => store.close());
  return { store, clock };
}

const koaCookies = (res: request.Response): string => (res.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ');

test("koa: a prefix such as 'koa:sess:' makes IDs the store keeps (koa-session's own genid)", HANG_GUARD, async (t) => {
  const { store } = openKoa(t);
  const server = koaApp(store, { prefix: 'koa:sess:' });
  const first = await request(server).get('/set').expect(200, { n: 1 });
  assert.match(String(first.headers['set-cookie']), /koa\.sess=koa:sess:/);
  await request(server).get('/set').set('Cookie', koaCookies(first)).expect(200, { n: 2 });
});

test('koa: rolling sends the cookie on every request of a live session, and the store keeps it', HANG_GUARD, async (t) => {
  const { store, clock } = openKoa(t);
  const server = koaApp(store, { rolling: true, maxAge: 60_000 });
  const first = await request(server).get('/set').expect(200, { n: 1 });
  clock.advance(50_000);
  const second = await request(server).get('/').set('Cookie', koaCookies(first)).expect(200, { n: 1 });
  assert.equal(second.headers['set-cookie']?.length, 2, 'the cookie and its signature are sent again');
  clock.advance(50_000); // 100 s after the first save: alive only because the rolling save moved it
  await request(server).get('/').set('Cookie', koaCookies(second)).expect(200, { n: 1 });
});

test('koa: renew saves a session in its second half of life only', HANG_GUARD, async (t) => {
  const { store, clock } = openKoa(t);
  const server = koaApp(store, { renew: true, maxAge: 2000 });
  const first = await request(server).get('/set').expect(200, { n: 1 });
  clock.advance(500);
  assert.equal((await request(server).get('/').set('Cookie', koaCookies(first)).expect(200, { n: 1 })).headers['set-cookie'], undefined);
  clock.advance(700);
  const renewed = await request(server).get('/').set('Cookie', koaCookies(first)).expect(200, { n: 1 });
  assert.equal(renewed.headers['set-cookie']?.length, 2);
  clock.advance(1500); // 2.7 s after the first save, 1.5 s after the renewal
  await request(server).get('/').set('Cookie', koaCookies(renewed)).expect(200, { n: 1 });
});

test("koa: maxAge 'session' never expires by itself; a number expires to the millisecond", HANG_GUARD, async (t) => {
  const { store, clock } = openKoa(t);
  const browser = koaApp(store, { maxAge: 'session' });
  const a = await request(browser).get('/set').expect(200, { n: 1 });
  assert.ok(!String(a.headers['set-cookie']).includes('expires='));
  const timed = koaApp(store, { maxAge: 100 });
  const b = await request(timed).get('/set').expect(200, { n: 1 });
  clock.advance(99);
  await request(timed).get('/').set('Cookie', koaCookies(b)).expect(200, { n: 1 });
  await request(browser).get('/').set('Cookie', koaCookies(a)).expect(200, { n: 1 });
  clock.advance(1);
  await request(timed).get('/').set('Cookie', koaCookies(b)).expect(200, { n: null });
});

test('koa: ctx.session = null destroys it in the store; a store miss is a new, empty session', HANG_GUARD, async (t) => {
  const { store } = openKoa(t);
  const server = koaApp(store, {});
  const first = await request(server).get('/set').expect(200, { n: 1 });
  const key = /koa\.sess=([^;]+)/.exec(koaCookies(first))![1]!;
  assert.equal(((await store.get(key)) as { n: number }).n, 1);
  await request(server).get('/null').set('Cookie', koaCookies(first)).expect(200);
  assert.equal(await store.get(key), undefined);
  await request(server).get('/').set('Cookie', koaCookies(first)).expect(200, { n: null });
});

async function fastifyApp(t: T, store: SessiondFastifyStore, opts: Record<string, unknown>): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(fastifyCookie);
  await app.register(fastifySession, { store, secret: FASTIFY_SECRET, cookie: { secure: false }, ...opts });
  app.get('/', async (req) => ({ n: req.session.get('n' as never) ?? null }));
  app.get('/set', async (req) => {
    const n = ((req.session.get('n' as never) as number | undefined) ?? 0) + 1;
    req.session.set('n' as never, n as never);
    return { n };
  });
  t.after(() => app.close());
  return app;
}

function openFastify(t: T): { store: SessiondFastifyStore; clock: ManualClock } {
  const { options, clock } = engineOptions(t);
  const store = new SessiondFastifyStore(options);
  t.after(() => store.close());
  return { store, clock };
}

async function get(app: FastifyInstance, url: string, cookie?: string): Promise<{ status: number; body: unknown; cookie: string | undefined }> {
  const res = await app.inject({ method: 'GET', url, headers: cookie === undefined ? {} : { cookie } });
  const set = res.headers['set-cookie'] as string | string[] | undefined;
  return { status: res.statusCode, body: res.statusCode === 200 ? res.json() : res.body, cookie: set === undefined ? undefined : cookiePair(set, 'sessionId') };
}

test('fastify: an idGenerator making short IDs with / and %: the session is found again', HANG_GUARD, async (t) => {
  const { store } = openFastify(t);
  let n = 0;
  const app = await fastifyApp(t, store, { idGenerator: () => `u/${++n}%` });
  const first = await get(app, '/set');
  assert.deepEqual(first.body, { n: 1 });
  assert.deepEqual((await get(app, '/set', first.cookie)).body, { n: 2 });
  assert.ok(await new Promise((ok) => store.get('u/1%', (_e, s) => ok(s))));
});

test('fastify: cookie maxAge is the store expiry to the millisecond; an expired session is replaced by a new one', HANG_GUARD, async (t) => {
  const { store, clock } = openFastify(t);
  const app = await fastifyApp(t, store, { cookie: { secure: false, maxAge: 1000 }, rolling: false });
  const first = await get(app, '/set');
  clock.advance(999);
  assert.deepEqual((await get(app, '/', first.cookie)).body, { n: 1 });
  clock.advance(1);
  const after = await get(app, '/', first.cookie);
  assert.deepEqual(after.body, { n: null });
});

test('fastify: a store error on get (attributes that are not JSON) reaches the error handler as 500', HANG_GUARD, async (t) => {
  const { store } = openFastify(t);
  const app = await fastifyApp(t, store, {});
  const first = await get(app, '/set');
  const id = (await (await store.engine()).ids())[0]!;
  await (await store.engine()).save(id, { attributes: { n: 'not json' } });
  assert.equal((await get(app, '/', first.cookie)).status, 500);
});
