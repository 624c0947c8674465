/**
 * One app server of the multi-process failover tests: express + express-session +
 * sessiondSerialize + SessiondStore with `global:` on PostgreSQL or Redis.
 * argv: <dir> <serverId> <backend> <leaseMs> [port], where <backend> is a PostgreSQL
 * schema name or, starting with `{`, the JSON of the backend's global options
 * (`{"redis":{"url":...},"keyPrefix":...}`). SESSIOND_TEST_MODE picks 'through' (default)
 * or 'back'. Prints `ready <port>` once listening.
 */
import express, { type Request, type Response } from 'express';
import session from 'express-session';
import { SessiondStore, sessiondErrorHandler, sessiondSerialize } from '../../src/adapters/express.js';
import { PG_URL } from './pg-harness.js';
import { sidHash } from './failover-processes.js';

declare module 'express-session' {
  interface SessionData {
    user?: string;
    counter?: number;
  }
}

// A standby (ServerFleet.prepare): the modules above are loaded; the store opens on the test's go.
if (process.env.SESSIOND_TEST_STANDBY === '1') {
  process.stdin.once('end', () => process.exit(0)); // the test is gone (it writes go and keeps the pipe open)
  console.log('standby');
  await new Promise((r) => process.stdin.once('data', r));
}

const t0 = Date.now();
const [dir, serverId, backend, leaseMs, port] = process.argv.slice(2);
const SECRET = 'failover test secret';
const backendOptions = backend!.startsWith('{') ? (JSON.parse(backend!) as object) : { postgres: { connectionString: PG_URL }, schema: backend!, poolMax: 4 };
const logger = process.env.SESSIOND_TEST_LOG === '1' ? { info: () => undefined, warn: (e: string, x?: object) => console.error(serverId, e, JSON.stringify(x)), error: (e: string, x?: object) => console.error(serverId, e, JSON.stringify(x)) } : undefined;
const store = new SessiondStore({
  dir: dir!,
  ...(logger === undefined ? {} : { logger }),
  global: { ...backendOptions, app: 'failover', serverId: serverId!, leaseMs: Number(leaseMs), heartbeatMs: Math.floor(Number(leaseMs) / 4),
    mode: process.env.SESSIOND_TEST_MODE === 'back' ? 'back' : 'through', handoverPollMs: 100 },
});
const app = express();
if (logger !== undefined) {
  // The test log: every answer with a hash of its session ID (never the ID itself), to follow one session across servers.
  app.use((req, res, next) => {
    const t0 = Date.now();
    res.on('close', () => {
      const sid = (req as { sessionID?: string }).sessionID;
      console.error(serverId, 'req', req.method, req.path, sid === undefined ? '-' : sidHash(sid), res.statusCode, res.writableFinished ? 'done' : 'cut', t0, Date.now() - t0);
    });
    next();
  });
}
app.use(sessiondSerialize(store, { secret: SECRET }));
app.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false }));
app.post('/login', (req, res, next) => {
  req.session.user = String(req.query.user ?? 'alice');
  req.session.counter = 0;
  req.session.save((err) => (err ? next(err) : res.json({ ok: true, server: serverId })));
});
/** Both increments' change: false (answered 401) when logged out; else reads, waits slowMs and counts one up. */
async function increment(req: Request, res: Response): Promise<boolean> {
  if (req.session.user === undefined) {
    res.status(401).json({ error: 'logged out' });
    return false;
  }
  const before = req.session.counter ?? 0;
  if (req.query.report !== undefined) console.log(`read ${String(req.query.report)} ${before}`); // the test's cue: this request holds the turn and has read
  const slowMs = Number(req.query.slowMs ?? 0);
  if (slowMs > 0) await new Promise((r) => setTimeout(r, slowMs));
  req.session.counter = before + 1;
  return true;
}
app.post('/increment', async (req, res, next) => {
  if (!(await increment(req, res))) return;
  // Saved before answering: express-session's own save at res.end() runs after the status
  // line and all but the last body byte are out, so its failure could not change a 200.
  req.session.save((err) => {
    // The test's late save (its client gave up): say how it ended, nobody else will see it.
    if (req.query.report !== undefined) console.log(`saved ${String(req.query.report)} ${err ? String((err as { code?: string }).code ?? 'error') : 'ok'}`);
    return err ? next(err) : res.json({ counter: req.session.counter, server: serverId });
  });
});
// The same, left to express-session's save at the end of the response (the adapter must
// then cut the response rather than deliver a false success when that save is refused).
app.post('/increment-auto', async (req, res) => {
  if (!(await increment(req, res))) return;
  res.json({ counter: req.session.counter, server: serverId });
});
app.get('/state', (req, res) => {
  res.json({ user: req.session.user ?? null, counter: req.session.counter ?? null, server: serverId });
});
app.post('/logout', (req, res, next) => {
  req.session.destroy((err) => (err ? next(err) : res.json({ ok: true, server: serverId })));
});
app.use(sessiondErrorHandler());
await store.engine();
const server = app.listen(Number(port ?? 0), '127.0.0.1', () => {
  const a = server.address();
  console.log(`ready ${typeof a === 'object' && a !== null ? a.port : 0} (store opened in ${Date.now() - t0} ms)`);
});
