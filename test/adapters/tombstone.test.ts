// Tombstones through the adapters: after destroy (logout), a save from a request that was
// already in flight does not bring the session back, not even after a restart; the late
// save is a silent no-op, not an error page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { SessiondStore } from '../../src/adapters/express.js';
import { SessiondFastifyStore } from '../../src/adapters/fastify.js';
import { sessiondKoaStore } from '../../src/adapters/koa.js';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { Arrivals, Gate, cookiePair, removeDir, serveLocal, tempDir, HANG_GUARD, type After } from './adapter-fixtures.js';
import { createTestApp } from './express-app.js';

function dirFor(t: After): string {
  const dir = tempDir('tombstone');
  t.after(() => removeDir(dir));
  return dir;
}

test('express: a save in flight at logout is dropped, and the session stays gone after a restart', HANG_GUARD, async (t) => {
  const dir = dirFor(t);
  const store = new SessiondStore({ dir });
  const gate = new Gate();
  const reached = new Arrivals();
  // No sessiondSerialize: the in-flight request really runs alongside the logout.
  const url = await serveLocal(t, createTestApp({ store, beforeWrite: () => (reached.arrive(), gate.opened) }));
  const cookie = cookiePair((await request(url).post('/login').expect(200)).headers['set-cookie'], 'connect.sid');
  const [id] = (await store.engine()).ids();

  const inFlight = request(url).post('/increment').set('Cookie', cookie);
  const inFlightDone = inFlight.then((r) => r.status);
  await reached.reached(1); // it has loaded the session and is about to write
  await request(url).post('/logout').set('Cookie', cookie).expect(200);
  gate.open();
  assert.equal(await inFlightDone, 200, 'the late save is a silent no-op, not an error');

  assert.deepEqual((await request(url).get('/state').set('Cookie', cookie).expect(200)).body, { user: null, counter: null });
  assert.equal((await store.engine()).get(id!), undefined);
  await store.close();
  const reopened = await SessionEngine.open({ dir });
  assert.equal(reopened.get(id!), undefined, 'deleted sessions stay deleted after a restart');
  assert.equal(reopened.count(), 0);
  await reopened.close();
});

test('express + sessiondSerialize: a request queued behind the logout finds no session', HANG_GUARD, async (t) => {
  const store = new SessiondStore({ dir: dirFor(t) });
  t.after(() => store.close());
  const gate = new Gate();
  const reached = new Arrivals();
  const locks = new Arrivals();
  const serialize = { lock: (id: string) => (locks.arrive(), store.lock(id)) };
  const url = await serveLocal(t, createTestApp({ store, serialize, beforeWrite: () => (reached.arrive(), gate.opened) }));
  const cookie = cookiePair((await request(url).post('/login').expect(200)).headers['set-cookie'], 'connect.sid');
  const first = request(url).post('/increment').set('Cookie', cookie).then((r) => r.body.counter as number);
  await reached.reached(1);
  const logout = request(url).post('/logout').set('Cookie', cookie).then((r) => r.status);
  await locks.reached(2); // the logout waits behind the increment
  const after = request(url).get('/state').set('Cookie', cookie).then((r) => r.body as unknown);
  await locks.reached(3); // and this one behind the logout
  gate.open();
  assert.equal(await first, 1);
  assert.equal(await logout, 200);
  assert.deepEqual(await after, { user: null, counter: null });
});

test('every adapter: set after destroy succeeds silently and the session stays absent', HANG_GUARD, async (t) => {
  const engine = await SessionEngine.open({ dir: dirFor(t) });
  t.after(() => engine.close());
  const express = new SessiondStore(engine);
  const fastify = new SessiondFastifyStore(engine);
  const koa = sessiondKoaStore(engine);
  const cookie = { originalMaxAge: null };

  const a = engine.generateId();
  await new Promise<void>((ok, ko) => express.set(a, { cookie, n: 1 } as never, (e) => (e ? ko(e) : ok())));
  await new Promise<void>((ok, ko) => express.destroy(a, (e) => (e ? ko(e) : ok())));
  await new Promise<void>((ok, ko) => express.set(a, { cookie, n: 2 } as never, (e) => (e ? ko(e) : ok())));
  assert.equal(engine.get(a), undefined);

  const b = engine.generateId();
  await new Promise<void>((ok) => fastify.set(b, { cookie, n: 1 }, () => ok()));
  await new Promise<void>((ok) => fastify.destroy(b, () => ok()));
  const late = await new Promise<unknown[]>((ok) => fastify.set(b, { cookie, n: 2 }, (...args: unknown[]) => ok(args)));
  assert.deepEqual(late, [null]);
  assert.equal(engine.get(b), undefined);

  const c = engine.generateId();
  await koa.set(c, { n: 1 }, 60_000);
  await koa.destroy(c);
  await koa.set(c, { n: 2 }, 60_000);
  assert.equal(await koa.get(c), undefined);
  assert.equal(engine.count(), 0);
});
