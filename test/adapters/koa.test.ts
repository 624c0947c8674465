// Integration tests of sessiondKoaStore through koa-session's real request cycle (a koa
// server on 127.0.0.1, driven by supertest), and of the store on its own (SPEC A3, E10).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Koa from 'koa';
import session from 'koa-session';
import request from 'supertest';
import { sessiondKoaStore, type SessiondKoaStore } from '../../src/adapters/koa.js';
import { ManualClock } from '../../src/clock.js';
import { isSessiondError } from '../../src/errors.js';
import { LogBytesFs, removeDir, serveLocal, tempDir, HANG_GUARD, type After } from './adapter-fixtures.js';

interface KoaSession {
  user?: string;
  counter?: number;
  big?: string;
}

async function withStore(t: After, over: Record<string, unknown> = {}): Promise<SessiondKoaStore> {
  const dir = tempDir('koa');
  const store = sessiondKoaStore({ dir, ...over });
  t.after(async () => {
    await store.close();
    removeDir(dir);
  });
  return store;
}

/** A koa app on a real server; resolves its base URL. */
async function startApp(t: After, store: SessiondKoaStore, maxAge: number | 'session' = 60_000, rolling = false): Promise<string> {
  const app = new Koa();
  app.keys = ['koa test key'];
  app.silent = true; // the 413 test's error is expected: do not print it
  app.use(session({ store, maxAge, rolling, genid: () => store.generateId() }, app));
  app.use(async (ctx) => {
    const s = ctx.session as unknown as KoaSession;
    if (ctx.path === '/login') Object.assign(s, { user: 'alice', counter: 0 });
    else if (ctx.path === '/increment') s.counter = (s.counter ?? 0) + 1;
    else if (ctx.path === '/logout') ctx.session = null;
    else if (ctx.path === '/big') s.big = 'b'.repeat(Number(ctx.query.bytes ?? 0));
    ctx.body = { user: s?.user ?? null, counter: s?.counter ?? null };
  });
  return serveLocal(t, app.callback());
}

test('login, increments and logout run through koa-session on the store', HANG_GUARD, async (t) => {
  const store = await withStore(t);
  const agent = request.agent(await startApp(t, store));
  await agent.post('/login').expect(200);
  for (let i = 1; i <= 3; i++) assert.equal((await agent.post('/increment').expect(200)).body.counter, i);
  assert.deepEqual((await agent.get('/state').expect(200)).body, { user: 'alice', counter: 3 });
  assert.equal((await store.engine()).count(), 1);
  await agent.post('/logout').expect(200);
  assert.deepEqual((await agent.get('/state').expect(200)).body, { user: null, counter: null });
  assert.equal((await store.engine()).count(), 0);
});

test('get, set and destroy; _expire travels as the engine expiry, to the millisecond', HANG_GUARD, async (t) => {
  const store = await withStore(t);
  const id = store.generateId();
  assert.equal(await store.get(id, 60_000), undefined);
  const expire = Date.now() + 60_000;
  await store.set(id, { user: 'bob', _expire: expire, _maxAge: 60_000 }, 70_000);
  assert.deepEqual(await store.get(id, 60_000), { user: 'bob', _maxAge: 60_000, _expire: expire });
  assert.equal((await store.engine()).get(id)?.expiresAtMs, expire);
  await store.destroy(id);
  assert.equal(await store.get(id, 60_000), undefined);
  for (const bad of ['', 'short', 'x'.repeat(129), 'dots.are.not.allowed.here', '../../etc/passwd']) {
    assert.equal(await store.get(bad, 60_000), undefined, bad);
    await store.destroy(bad);
  }
});

test("maxAge: a number without _expire is now + maxAge; 'session' is an idle timeout of sessionTtlMs", HANG_GUARD, async (t) => {
  const clock = new ManualClock(Date.now());
  const store = await withStore(t, { clock, sessionTtlMs: 10_000 });
  const engine = await store.engine();
  const a = store.generateId();
  await store.set(a, { n: 1 }, 5_000);
  assert.equal(engine.get(a)?.expiresAtMs, clock.now() + 5_000);
  const b = store.generateId();
  await store.set(b, { n: 2, _session: true }, 'session');
  assert.equal(engine.get(b)?.expiresAtMs, 0);
  assert.equal(engine.get(b)?.maxInactiveMs, 10_000);
  clock.advance(9_999);
  assert.deepEqual(await store.get(b, 'session'), { n: 2, _session: true }, 'no _expire for a browser-session cookie');
  await store.set(b, { n: 2, _session: true }, 'session'); // a save is an access: the idle timer restarts
  clock.advance(9_999);
  assert.ok(await store.get(b, 'session'));
  clock.advance(1);
  assert.equal(await store.get(b, 'session'), undefined);
  assert.equal(await store.get(a, 5_000), undefined);
});

test('expiry follows the injected clock through the app', HANG_GUARD, async (t) => {
  const clock = new ManualClock(Date.now());
  const store = await withStore(t, { clock });
  const agent = request.agent(await startApp(t, store, 60_000));
  await agent.post('/login').expect(200);
  const engine = await store.engine();
  const [id] = engine.ids();
  clock.set(engine.get(id!)!.expiresAtMs);
  assert.deepEqual((await agent.get('/state').expect(200)).body, { user: null, counter: null });
});

test('a rolling save that changes nothing writes only a small TOUCH record', HANG_GUARD, async (t) => {
  const fs = new LogBytesFs();
  const store = await withStore(t, { fs });
  const agent = request.agent(await startApp(t, store, 60_000, true));
  await agent.post('/big?bytes=8000').expect(200);
  const before = fs.logBytesWritten;
  const version = (await store.engine()).all()[0]!.version;
  await agent.get('/state').expect(200);
  const written = fs.logBytesWritten - before;
  assert.ok(written > 0 && written < 200, `a rolling save wrote ${written} bytes`);
  assert.ok(!fs.textSince(before).includes('"_expire"'), 'the moved _expire is the engine expiry, not a rewritten attribute');
  assert.equal((await store.engine()).all()[0]!.version, version + 1);
});

test('an oversized session is a typed error in set and 413 through the app', HANG_GUARD, async (t) => {
  const store = await withStore(t, { sessionBytesMax: 1024 });
  await assert.rejects(store.set(store.generateId(), { big: 'x'.repeat(2048) }, 60_000), (e) => isSessiondError(e, 'SESSIOND_SESSION_TOO_LARGE') && e.status === 413);
  const agent = request.agent(await startApp(t, store));
  await agent.post('/login').expect(200);
  await agent.post('/big?bytes=4096').expect(413);
  assert.deepEqual((await agent.get('/state').expect(200)).body, { user: 'alice', counter: 0 });
});

test('a shared engine stays open when the store closes; unknown options are refused', HANG_GUARD, async (t) => {
  const owner = await withStore(t);
  const engine = await owner.engine();
  const shared = sessiondKoaStore(engine);
  const id = shared.generateId();
  await shared.set(id, { n: 1 }, 60_000);
  await shared.close();
  assert.ok(engine.get(id));
  await assert.rejects(shared.get(id), (e) => isSessiondError(e, 'SESSIOND_CLOSED'));
  assert.throws(() => sessiondKoaStore({ dir: '/nonexistent', bogus: 1 } as never), (e) => isSessiondError(e, 'SESSIOND_INVALID_OPTION'));
});
