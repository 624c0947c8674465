/**
 * One app server of bench/global-http.ts: express + express-session on a store of `kind`,
 * counting the PostgreSQL statements it sends (GET /stats). argv: <kind> <dir> <serverId> <schema>.
 * Prints `ready <port>`.
 */
import { createRequire } from 'node:module';
import express from 'express';
import session from 'express-session';
import pg from 'pg';
import { SessiondStore, sessiondSerialize } from '../src/adapters/express.js';

declare module 'express-session' {
  interface SessionData {
    counter?: number;
  }
}

const require = createRequire(import.meta.url);
const [kind, dir, serverId, schema] = process.argv.slice(2) as [string, string, string, string];
const SECRET = 'bench secret';
let statements = 0;
const pool = new pg.Pool({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test', max: 10 });
pool.on('error', () => undefined);
const query = pool.query.bind(pool) as (...a: unknown[]) => unknown;
(pool as unknown as { query: (...a: unknown[]) => unknown }).query = (...a: unknown[]) => {
  statements++;
  return query(...a);
};

const app = express();
let store: session.Store;
if (kind === 'connect-pg-simple') {
  const PgStore = (require('connect-pg-simple') as (s: typeof session) => new (o: object) => session.Store)(session);
  store = new PgStore({ pool, tableName: schema, createTableIfMissing: true, pruneSessionInterval: false });
} else {
  const mode = kind === 'sessiond-global-back' ? 'back' : 'through';
  const s = new SessiondStore(kind.startsWith('sessiond-global') ? { dir, global: { postgres: pool as never, app: 'bench', serverId, schema, mode } } : { dir });
  await s.engine();
  app.use(sessiondSerialize(s, { secret: SECRET }));
  store = s;
}
app.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false }));
app.post('/login', (req, res, next) => {
  req.session.counter = 0;
  req.session.save((err) => (err ? next(err) : res.json({ ok: true })));
});
app.get('/counter', (req, res) => res.json({ counter: req.session.counter ?? null }));
app.post('/increment', (req, res) => {
  req.session.counter = (req.session.counter ?? 0) + 1;
  res.json({ counter: req.session.counter });
});
app.get('/stats', (_req, res) => res.json({ statements }));
app.post('/stats/reset', (_req, res) => {
  statements = 0;
  res.json({ ok: true });
});
const server = app.listen(0, '127.0.0.1', () => {
  const a = server.address();
  console.log(`ready ${typeof a === 'object' && a !== null ? a.port : 0}`);
});
