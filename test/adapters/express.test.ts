// Integration tests of SessiondStore through express-session's real request cycle (supertest),
// and of every Store method on its own (SPEC A1, E1, E10).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import request from 'supertest';
import type session from 'express-session';
import { SessiondStore } from '../../src/adapters/express.js';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { isSessiondError } from '../../src/errors.js';
import { blobToJsonObject } from '../../src/session/attributes.js';
import { cookiePair, removeDir, tempDir, HANG_GUARD } from './adapter-fixtures.js';
import { SECRET, assertLoginFlow, call, createTestApp } from './express-app.js';

const signature = createRequire(import.meta.url)('cookie-signature') as { sign(v: string, s: string): string };
type Data = session.SessionData;

async function getData(store: SessiondStore, id: string): Promise<Record<string, unknown> | undefined> {
  return (await call<Data | null>((cb) => store.get(id, cb))) as unknown as Record<string, unknown> | undefined;
}

function sessionData(over: Record<string, unknown>, expires?: Date): Data {
  const cookie = expires === undefined ? { originalMaxAge: null } : { originalMaxAge: 60_000, expires };
  return { cookie, ...over } as unknown as Data;
}

async function withStore(t: { after(fn: () => Promise<void>): void }, over: Record<string, unknown> = {}): Promise<{ store: SessiondStore; dir: string }> {
  const dir = tempDir('express');
  const store = new SessiondStore({ dir, ...over });
  t.after(async () => {
    await store.close();
    removeDir(dir);
  });
  return { store, dir };
}

test('login, increments and logout run through express-session on the store', HANG_GUARD, async (t) => {
  const { store } = await withStore(t);
  const agent = request.agent(createTestApp({ store, cookieMaxAgeMs: 60_000 }));
  await assertLoginFlow(agent, store);
});

test('set then get returns the attributes and the cookie expiry to the millisecond', HANG_GUARD, async (t) => {
  const { store } = await withStore(t);
  const id = store.generateId();
  const expires = new Date(Date.now() + 60_000);
  await call((cb) => store.set(id, sessionData({ user: 'bob', n: 1, nested: { a: [1, 2] } }, expires), cb));
  const got = (await call<Data | null>((cb) => store.get(id, cb))) as unknown as Record<string, unknown>;
  assert.deepEqual(got, {
    cookie: { originalMaxAge: 60_000, expires: expires.toISOString() },
    user: 'bob',
    n: 1,
    nested: { a: [1, 2] },
  });
  const engine = await store.engine();
  assert.equal(engine.get(id)?.expiresAtMs, expires.getTime());
});

test('touch moves the expiry without rewriting the attributes', HANG_GUARD, async (t) => {
  const { store } = await withStore(t);
  const engine = await store.engine();
  const id = store.generateId();
  await call((cb) => store.set(id, sessionData({ user: 'bob' }, new Date(Date.now() + 10_000)), cb));
  const before = engine.get(id)!;
  const later = new Date(Date.now() + 50_000);
  await call((cb) => store.touch(id, sessionData({ user: 'bob' }, later), cb));
  // touch is answered when its record is logged; it is visible once durable (touch.test.ts).
  await engine.flush();
  const after = engine.get(id)!;
  assert.equal(after.expiresAtMs, later.getTime());
  assert.equal(after.attrs, before.attrs);
  assert.equal(after.version, before.version + 1);
  await call((cb) => store.touch(store.generateId(), sessionData({}, later), cb)); // absent: no error
});

test('all, length, ids and clear see exactly the live sessions', HANG_GUARD, async (t) => {
  const { store } = await withStore(t);
  const ids = [store.generateId(), store.generateId(), store.generateId()];
  for (const [i, id] of ids.entries()) await call((cb) => store.set(id, sessionData({ i }), cb));
  assert.equal(await call<number>((cb) => store.length(cb)), 3);
  assert.deepEqual((await call<string[]>((cb) => store.ids(cb)))!.sort(), [...ids].sort());
  const all = (await call<Record<string, Data>>((cb) => store.all(cb)))!;
  assert.deepEqual(Object.keys(all).sort(), [...ids].sort());
  assert.equal((all[ids[1]!] as unknown as { i: number }).i, 1);
  await call((cb) => store.destroy(ids[0]!, cb));
  assert.equal(await call<number>((cb) => store.length(cb)), 2);
  await call((cb) => store.clear(cb));
  assert.equal(await call<number>((cb) => store.length(cb)), 0);
  assert.deepEqual(await call<string[]>((cb) => store.ids(cb)), []);
});

test('malformed IDs (empty, over 512 UTF-8 bytes, lone surrogate, not a string) are a miss in get, never an error', HANG_GUARD, async (t) => {
  const { store } = await withStore(t);
  for (const bad of ['', 'x'.repeat(513), '\udc00lone', 42]) {
    assert.equal(await call((cb) => store.get(bad as string, cb)), undefined, String(bad));
    await call((cb) => store.destroy(bad as string, cb));
    await call((cb) => store.touch(bad as string, sessionData({}), cb));
  }
  await assert.rejects(call((cb) => store.set('x'.repeat(513), sessionData({}), cb)), (e) => isSessiondError(e, 'SESSIOND_INVALID_SESSION_ID'));
});

test('bad cookies count as no session: tampered, unsigned, garbage, signed malformed ID', HANG_GUARD, async (t) => {
  const { store } = await withStore(t);
  const app = createTestApp({ store });
  const login = await request(app).post('/login?user=alice').expect(200);
  const good = cookiePair(login.headers['set-cookie'], 'connect.sid');
  const id = decodeURIComponent(good.slice('connect.sid=s:'.length)).split('.')[0]!;
  const bad = [
    `connect.sid=${encodeURIComponent(`s:${id}.AAAAtampered`)}`,
    `connect.sid=${id}`,
    'connect.sid=%%%garbage%%%; other=1',
    `connect.sid=${encodeURIComponent('s:' + signature.sign('short', SECRET))}`,
    `connect.sid=${encodeURIComponent('s:' + signature.sign('../../etc/passwd', SECRET))}`,
  ];
  for (const cookie of bad) {
    assert.deepEqual((await request(app).get('/state').set('Cookie', cookie).expect(200)).body, { user: null, counter: null }, cookie);
  }
  assert.deepEqual((await request(app).get('/state').set('Cookie', good).expect(200)).body, { user: 'alice', counter: 0 });
});

test('expiry follows the injected clock to the millisecond', HANG_GUARD, async (t) => {
  const clock = new ManualClock(Date.now());
  const { store } = await withStore(t, { clock });
  const agent = request.agent(createTestApp({ store, cookieMaxAgeMs: 60_000 }));
  await agent.post('/login').expect(200);
  const [id] = (await call<string[]>((cb) => store.ids(cb)))!;
  const expiresAtMs = (await store.engine()).get(id!)!.expiresAtMs;
  clock.set(expiresAtMs - 1);
  assert.notEqual(await call((cb) => store.get(id!, cb)), undefined);
  clock.set(expiresAtMs);
  assert.equal(await call((cb) => store.get(id!, cb)), undefined);
  assert.deepEqual((await agent.get('/state')).body, { user: null, counter: null });
  assert.equal(await call<number>((cb) => store.length(cb)), 0);
});

test('a browser-session cookie gets the idle timeout of sessionTtlMs', HANG_GUARD, async (t) => {
  const clock = new ManualClock(Date.now());
  const { store } = await withStore(t, { clock, sessionTtlMs: 10_000 });
  const id = store.generateId();
  await call((cb) => store.set(id, sessionData({ user: 'bob' }), cb));
  clock.advance(9_999);
  await call((cb) => store.touch(id, sessionData({ user: 'bob' }), cb)); // an access restarts the idle timer
  clock.advance(9_999);
  assert.notEqual(await call((cb) => store.get(id, cb)), undefined);
  clock.advance(1);
  assert.equal(await call((cb) => store.get(id, cb)), undefined);
});

test('an oversized session is a typed error in set and 413 through the app', HANG_GUARD, async (t) => {
  const { store } = await withStore(t, { sessionBytesMax: 1024 });
  await assert.rejects(call((cb) => store.set(store.generateId(), sessionData({ big: 'x'.repeat(2048) }), cb)), (e) => {
    return isSessiondError(e, 'SESSIOND_SESSION_TOO_LARGE') && e.status === 413;
  });
  await assert.rejects(call((cb) => store.set(store.generateId(), sessionData({ n: 1n }), cb)), (e) => isSessiondError(e, 'SESSIOND_ATTRIBUTE_NOT_SERIALIZABLE'));
  const agent = request.agent(createTestApp({ store }));
  await agent.post('/login').expect(200);
  await agent.post('/big?bytes=4096').expect(413);
  assert.deepEqual((await agent.get('/state')).body, { user: 'alice', counter: 0 }, 'the refused save left the session as it was');
});

test('the store is usable at once and emits connect once the engine has recovered', HANG_GUARD, async (t) => {
  const dir = tempDir('express');
  t.after(() => removeDir(dir));
  const store = new SessiondStore({ dir });
  const connected = new Promise<void>((resolve) => store.once('connect', resolve));
  const id = store.generateId();
  await call((cb) => store.set(id, sessionData({ early: true }), cb)); // called before the engine is open
  assert.equal((await getData(store, id))?.early, true);
  await connected;
  const disconnected = new Promise<void>((resolve) => store.once('disconnect', resolve));
  await store.close();
  await disconnected;
  await assert.rejects(call((cb) => store.get(id, cb)), (e) => isSessiondError(e, 'SESSIOND_CLOSED'));
  const again = await SessionEngine.open({ dir }); // close() released the directory
  assert.deepEqual(JSON.parse(blobToJsonObject(again.get(id)!.attrs)), { cookie: { originalMaxAge: null }, early: true });
  await again.close();
});

test('stores sharing one engine: closing a store leaves the engine open', HANG_GUARD, async (t) => {
  const dir = tempDir('express');
  const engine = await SessionEngine.open({ dir });
  t.after(async () => {
    await engine.close();
    removeDir(dir);
  });
  const a = new SessiondStore(engine);
  const b = new SessiondStore({ engine });
  const id = a.generateId();
  await call((cb) => a.set(id, sessionData({ from: 'a' }), cb));
  assert.equal((await getData(b, id))?.from, 'a');
  await a.close();
  assert.ok(engine.get(id));
  await call((cb) => b.set(id, sessionData({ from: 'b' }), cb));
  assert.equal((await getData(b, id))?.from, 'b');
  await b.close();
  assert.ok(engine.get(id), 'the engine is still open');
});

test('unknown engine options are refused at construction, by name', () => {
  assert.throws(
    () => new SessiondStore({ dir: '/nonexistent', sesionTtlMs: 5 } as never),
    (e) => isSessiondError(e, 'SESSIOND_INVALID_OPTION') && e.message.includes('sesionTtlMs'),
  );
});

/** Runs a script in a child process and resolves its exit code; a process kept alive by a timer never exits. */
function runAlone(script: string, guardMs = 60_000): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'inherit', 'inherit'] });
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the process did not exit on its own: something keeps it alive'));
    }, guardMs);
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve(code);
    });
  });
}

test('nothing keeps the process alive: after close(), and even without it', HANG_GUARD, async (t) => {
  const dir = tempDir('express');
  t.after(() => removeDir(dir));
  const modUrl = new URL('../../src/adapters/express.js', import.meta.url).href;
  const body = (close: boolean) => `
    import { SessiondStore } from ${JSON.stringify(modUrl)};
    const store = new SessiondStore({ dir: ${JSON.stringify(dir)}, flushIntervalMs: 10, expiryIntervalMs: 10 });
    const id = store.generateId();
    await new Promise((ok, ko) => store.set(id, { cookie: { originalMaxAge: null }, n: 1 }, (e) => (e ? ko(e) : ok())));
    await new Promise((ok, ko) => store.get(id, (e, s) => (e || s.n !== 1 ? ko(e ?? new Error('lost')) : ok())));
    ${close ? 'await store.close();' : ''}`;
  assert.equal(await runAlone(body(true)), 0);
  assert.equal(await runAlone(body(false)), 0);
});
