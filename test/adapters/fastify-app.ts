// The fastify app the adapter tests drive: the same routes as express-app.ts, on
// @fastify/session, optionally behind sessiondFastifySerialize.
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import { SessiondFastifyStore, sessiondFastifySerialize } from '../../src/adapters/fastify.js';
import { tick } from './adapter-fixtures.js';

declare module 'fastify' {
  interface Session {
    user?: string;
    counter?: number;
    big?: string;
  }
}

export const FASTIFY_SECRET = 'a test secret of at least thirty-two characters';

export interface FastifyAppOptions {
  store: SessiondFastifyStore;
  serialize?: boolean;
  cookieMaxAgeMs?: number;
  onHang?: () => void;
  /** Runs in /increment between the read and the write. */
  beforeWrite?: () => Promise<void>;
}

export async function createFastifyApp(o: FastifyAppOptions): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(fastifyCookie);
  if (o.serialize === true) await app.register(sessiondFastifySerialize, { store: o.store, secret: FASTIFY_SECRET });
  await app.register(fastifySession, {
    store: o.store,
    secret: FASTIFY_SECRET,
    saveUninitialized: false,
    idGenerator: () => o.store.generateId(),
    cookie: { secure: false, ...(o.cookieMaxAgeMs === undefined ? {} : { maxAge: o.cookieMaxAgeMs }) },
  });
  app.post('/login', async (req) => {
    req.session.set('user', 'alice');
    req.session.set('counter', 0);
    return { ok: true };
  });
  app.post('/increment', async (req) => {
    const before = req.session.get('counter') ?? 0;
    await tick(); // yield between read and write: without serialization, requests interleave here
    await o.beforeWrite?.();
    req.session.set('counter', before + 1);
    return { counter: before + 1 };
  });
  app.get('/state', async (req) => ({ user: req.session.get('user') ?? null, counter: req.session.get('counter') ?? null }));
  app.post('/logout', async (req) => {
    await req.session.destroy();
    return { ok: true };
  });
  app.post<{ Querystring: { bytes?: string } }>('/big', async (req) => {
    req.session.set('big', 'b'.repeat(Number(req.query.bytes ?? 0)));
    return { ok: true };
  });
  app.get('/hang', () => new Promise(() => o.onHang?.()));
  return app;
}
