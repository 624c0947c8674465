// The express app the adapter tests drive: login, a counter whose handler yields between
// its read and its write (so concurrent requests really race), logout, and routes that
// hang, throw or grow the session.
import express, { type RequestHandler } from 'express';
import session from 'express-session';
import assert from 'node:assert/strict';
import type request from 'supertest';
import { sessiondErrorHandler, sessiondSerialize } from '../../src/adapters/express.js';
import type { TurnSource } from '../../src/adapters/request-turn.js';
import { tick } from './adapter-fixtures.js';

declare module 'express-session' {
  interface SessionData {
    user?: string;
    counter?: number;
    profile?: string;
    big?: string;
  }
}

export const SECRET = 'test secret, not for production';

export interface TestAppOptions {
  store: session.Store;
  /** Mount sessiondSerialize with this turn source (omit: no serialization). */
  serialize?: TurnSource;
  cookieMaxAgeMs?: number;
  /** Runs in /increment between the read and the write. */
  beforeWrite?: () => Promise<void>;
  /** Runs when /hang is reached; /hang never answers. */
  onHang?: () => void;
}

export function createTestApp(o: TestAppOptions): express.Express {
  const app = express();
  app.set('env', 'test'); // the final handler would print every expected 500's stack
  if (o.serialize !== undefined) app.use(sessiondSerialize(o.serialize, { secret: SECRET }));
  app.use(
    session({
      store: o.store,
      secret: SECRET,
      resave: false,
      saveUninitialized: false,
      cookie: o.cookieMaxAgeMs === undefined ? {} : { maxAge: o.cookieMaxAgeMs },
    }),
  );
  app.post('/login', (req, res, next) => {
    req.session.user = String(req.query.user ?? 'alice');
    req.session.counter = 0;
    if (typeof req.query.profileBytes === 'string') req.session.profile = 'p'.repeat(Number(req.query.profileBytes));
    req.session.save((err) => (err ? next(err) : res.json({ ok: true })));
  });
  const increment: RequestHandler = async (req, res) => {
    const before = req.session.counter ?? 0;
    await tick(); // yield between read and write: without serialization, requests interleave here
    await o.beforeWrite?.();
    req.session.counter = before + 1;
    res.json({ counter: req.session.counter });
  };
  app.post('/increment', increment);
  app.get('/state', (req, res) => {
    res.json({ user: req.session.user ?? null, counter: req.session.counter ?? null });
  });
  app.post('/logout', (req, res, next) => {
    req.session.destroy((err) => (err ? next(err) : res.json({ ok: true })));
  });
  app.post('/big', (req, res, next) => {
    req.session.big = 'b'.repeat(Number(req.query.bytes ?? 0));
    req.session.save((err) => (err ? next(err) : res.json({ ok: true })));
  });
  app.get('/hang', () => o.onHang?.());
  app.get('/boom', () => {
    throw new Error('boom');
  });
  app.use(sessiondErrorHandler());
  return app;
}

/** A store method with a node-style callback, as a promise. */
export function call<T>(fn: (cb: (err: unknown, v?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

/** The app's whole flow through `agent`: anonymous, login, three increments, logout; `store` holds the one session only while logged in. */
export async function assertLoginFlow(agent: ReturnType<typeof request.agent>, store: session.Store): Promise<void> {
  assert.deepEqual((await agent.get('/state')).body, { user: null, counter: null });
  await agent.post('/login?user=alice').expect(200);
  for (let i = 1; i <= 3; i++) assert.equal((await agent.post('/increment').expect(200)).body.counter, i);
  assert.deepEqual((await agent.get('/state')).body, { user: 'alice', counter: 3 });
  assert.equal(await call<number>((cb) => store.length!(cb)), 1);
  await agent.post('/logout').expect(200);
  assert.deepEqual((await agent.get('/state')).body, { user: null, counter: null });
  assert.equal(await call<number>((cb) => store.length!(cb)), 0);
}
