// A request whose client goes away mid-handler gives its session's turn back at once
// (sessiondSerialize, SPEC E8), but its handler runs on and saves when it is done. That late
// save carries what the request read before the requests that ran after it: applied, it
// overwrote their acknowledged changes (a lost update; on global sessions the same late save
// took the session back from the server serving it, issue 10's zombie read of 2, not 3).
// It is refused with SESSIOND_TURN_ENDED, and a late touch is skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import request from 'supertest';
import type session from 'express-session';
import type { AddressInfo } from 'node:net';
import { SessiondStore } from '../../src/adapters/express.js';
import { SessiondFastifyStore } from '../../src/adapters/fastify.js';
import { RequestTurn, bindTurn } from '../../src/adapters/request-turn.js';
import { isSessiondError } from '../../src/errors.js';
import { Arrivals, Gate, HANG_GUARD, cookiePair, removeDir, serveLocal, tempDir } from './adapter-fixtures.js';
import { createTestApp } from './express-app.js';
import { createFastifyApp } from './fastify-app.js';

/** The store, reporting every set's outcome. */
class WatchedStore extends SessiondStore {
  readonly sets = new Arrivals();
  readonly outcomes: unknown[] = [];
  override set(sid: string, sess: session.SessionData, cb?: (err?: unknown) => void): void {
    super.set(sid, sess, (err) => {
      this.outcomes.push(err);
      this.sets.arrive();
      cb?.(err);
    });
  }
}

class WatchedFastifyStore extends SessiondFastifyStore {
  readonly sets = new Arrivals();
  readonly outcomes: unknown[] = [];
  override set(sid: string, sess: object, cb: (err?: unknown) => void): void {
    super.set(sid, sess, (err) => {
      this.outcomes.push(err);
      this.sets.arrive();
      cb(err);
    });
  }
}

/** Sends a POST whose client gives up once it is `reached`; never resolves a response. */
function abandonedPost(url: string, cookie: string, reached: Promise<void>): void {
  const late = httpRequest(url, { method: 'POST', headers: { cookie } });
  late.on('error', () => undefined); // the abort is the point
  late.end();
  void reached.then(() => late.destroy());
}

/** The first increment stops between its read and its write until `gate` opens; `reached` counts the writes that got there. */
class FirstWriteHeld {
  readonly reached = new Arrivals();
  readonly gate = new Gate();
  private held = false;
  readonly beforeWrite = (): Promise<void> => (this.reached.arrive(), this.held ? Promise.resolve() : ((this.held = true), this.gate.opened));
}

/**
 * The scenario of both adapters: an increment reads counter 0 and waits, its client goes
 * away, two increments run meanwhile; then the abandoned handler's late save is refused and
 * the counter stays 2.
 */
async function lateSaveRefused(url: string, cookieName: string, store: { sets: Arrivals; outcomes: unknown[] }, hold: FirstWriteHeld): Promise<void> {
  const cookie = cookiePair((await request(url).post('/login').expect(200)).headers['set-cookie'], cookieName);
  await store.sets.reached(1);

  abandonedPost(`${url}/increment`, cookie, hold.reached.reached(1)); // it reads counter 0 and waits; the client goes away
  assert.equal((await request(url).post('/increment').set('Cookie', cookie).expect(200)).body.counter, 1);
  assert.equal((await request(url).post('/increment').set('Cookie', cookie).expect(200)).body.counter, 2);
  await store.sets.reached(3);

  hold.gate.open(); // the abandoned handler writes counter 0 + 1 and its session library saves it
  await store.sets.reached(4);
  assert.ok(isSessiondError(store.outcomes[3], 'SESSIOND_TURN_ENDED'), `the late save is refused, got ${String(store.outcomes[3])}`);
  assert.equal((await request(url).get('/state').set('Cookie', cookie).expect(200)).body.counter, 2);
}

test('a late save of a request whose client went away keeps the increments of the requests that ran since', HANG_GUARD, async (t) => {
  const dir = tempDir('late-save');
  const store = new WatchedStore({ dir });
  const hold = new FirstWriteHeld();
  const app = createTestApp({ store, serialize: store, beforeWrite: hold.beforeWrite });
  const url = await serveLocal(t, app, async () => {
    await store.close();
    removeDir(dir);
  });
  await lateSaveRefused(url, 'connect.sid', store, hold);
});

test('fastify: the same late save is refused', HANG_GUARD, async (t) => {
  const dir = tempDir('late-save');
  const store = new WatchedFastifyStore({ dir });
  const hold = new FirstWriteHeld();
  const app = await createFastifyApp({ store, serialize: true, beforeWrite: hold.beforeWrite });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  t.after(async () => {
    await app.close();
    await store.close();
    removeDir(dir);
  });
  await lateSaveRefused(url, 'sessionId', store, hold);
});

test("set and touch of a request whose turn was given back change nothing; inside the turn they apply", HANG_GUARD, async (t) => {
  const dir = tempDir('late-save');
  const store = new SessiondStore({ dir });
  t.after(async () => {
    await store.close();
    removeDir(dir);
  });
  const engine = await store.engine();
  const sid = store.generateId();
  const expires = (ms: number): session.SessionData => ({ cookie: { originalMaxAge: ms, expires: new Date(engine.clock.now() + ms) } }) as unknown as session.SessionData;
  const sessOf = (req: object, data: Record<string, unknown>, ms: number): session.SessionData => {
    const s = { ...expires(ms), ...data };
    Object.defineProperty(s, 'req', { value: req, enumerable: false }); // as express-session's Session has it
    return s as unknown as session.SessionData;
  };
  const call = (f: (cb: (err?: unknown) => void) => void): Promise<unknown> => new Promise((resolve) => f((err) => resolve(err)));

  const live = {};
  const liveTurn = new RequestTurn();
  bindTurn(live, liveTurn);
  assert.equal(await call((cb) => store.set(sid, sessOf(live, { counter: 5 }, 60_000), cb)), null);
  const before = engine.get(sid)!;

  const ended = {};
  const endedTurn = new RequestTurn();
  bindTurn(ended, endedTurn);
  endedTurn.end();
  const err = await call((cb) => store.set(sid, sessOf(ended, { counter: 1 }, 60_000), cb));
  assert.ok(isSessiondError(err, 'SESSIOND_TURN_ENDED'), `refused, got ${String(err)}`);
  assert.equal(await call((cb) => store.touch(sid, sessOf(ended, { counter: 5 }, 3_600_000), cb)), null, 'a late touch is skipped, not an error');
  await new Promise((r) => setImmediate(r));
  const after = engine.get(sid)!;
  assert.equal(after.lsn, before.lsn, 'neither the set nor the touch reached the engine');

  // A request that took no turn (no cookie, no serialization) is never "ended".
  assert.equal(await call((cb) => store.set(sid, sessOf({}, { counter: 6 }, 60_000), cb)), null);
  assert.notEqual(engine.get(sid)!.lsn, before.lsn);
});
