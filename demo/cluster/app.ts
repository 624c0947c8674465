import express, { type Request, type Response } from 'express';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import type { RedisClientType } from 'redis';
import { loggedInPage, loginPage } from '../pages.js';

/**
 * The demo app of `npm run demo:cluster`: the same login + counter pages as `npm start`, but
 * on the stock Redis stack (express-session + connect-redis + node-redis) talking to
 * `sessiond serve`. No sessiond code here: any Redis-backed express app works unchanged.
 */

declare module 'express-session' {
  interface SessionData {
    user?: string;
    counter?: number;
  }
}

const WEEK_MS = 7 * 24 * 3600_000;
const USERNAME_CHARS_MAX = 64;

/** Every page says which worker answered, so one can see the requests spread. */
function withWorker(html: string): string {
  return html.replace('</body>', `<p><small id="worker">served by worker ${process.pid}</small></p>\n</body>`);
}

function saveThen(req: Request, res: Response, next: (err?: unknown) => void, answer: () => void): void {
  req.session.save((err) => (err ? next(err) : answer()));
}

export function createClusterDemoApp(client: RedisClientType, secret: string): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(
    session({
      store: new RedisStore({ client }),
      secret,
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: WEEK_MS, httpOnly: true, sameSite: 'lax' },
    }),
  );
  app.use(express.urlencoded({ extended: false, limit: '4kb' }));
  app.use((_req, res, next) => {
    res.setHeader('X-Worker', String(process.pid));
    next();
  });

  app.get('/', (req, res) => {
    const { user, counter } = req.session;
    res.type('html').send(withWorker(user === undefined ? loginPage() : loggedInPage(user, counter ?? 0)));
  });

  app.get('/api/state', (req, res) => {
    res.json({ user: req.session.user ?? null, counter: req.session.user === undefined ? null : (req.session.counter ?? 0), worker: process.pid });
  });

  app.post('/login', (req, res, next) => {
    const name = String((req.body as Record<string, unknown> | undefined)?.username ?? '').trim();
    if (name === '' || name.length > USERNAME_CHARS_MAX) return void res.status(400).type('html').send(withWorker(loginPage()));
    req.session.regenerate((err) => {
      if (err) return next(err);
      req.session.user = name;
      req.session.counter = 0;
      saveThen(req, res, next, () => res.redirect(303, '/'));
    });
  });

  app.post('/increment', (req, res, next) => {
    if (req.session.user === undefined) return void res.redirect(303, '/');
    req.session.counter = (req.session.counter ?? 0) + 1;
    saveThen(req, res, next, () => res.redirect(303, '/'));
  });

  app.post('/logout', (req, res, next) => {
    req.session.destroy((err) => {
      if (err) return next(err);
      res.clearCookie('connect.sid').redirect(303, '/');
    });
  });

  // The session server is down (killed, restarting): say so; node-redis reconnects by itself.
  app.use((err: unknown, _req: Request, res: Response, _next: (e?: unknown) => void) => {
    res.status(503).type('text').send(`session store unavailable: ${(err as Error).message}`);
  });
  return app;
}
