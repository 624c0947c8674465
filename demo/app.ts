import express, { type Request, type Response } from 'express';
import session from 'express-session';
import { SessiondStore, sessiondErrorHandler, sessiondSerialize } from '../src/adapters/express.js';
import { loggedInPage, loginPage } from './pages.js';

declare module 'express-session' {
  interface SessionData {
    user?: string;
    counter?: number;
  }
}

const WEEK_MS = 7 * 24 * 3600_000;
const USERNAME_CHARS_MAX = 64;

/** Saves before answering, so a failed save (413, 503) becomes the response instead of a broken one. */
function saveThen(req: Request, res: Response, next: (err?: unknown) => void, answer: () => void): void {
  req.session.save((err) => (err ? next(err) : answer()));
}

/** The demo: login, a counter, logout, on express + express-session + sessiond (SPEC A4). */
export function createDemoApp(store: SessiondStore, secret: string): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(sessiondSerialize(store, { secret })); // one request per session at a time
  app.use(
    session({
      store,
      secret,
      genid: () => store.generateId(),
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: WEEK_MS, httpOnly: true, sameSite: 'lax' },
    }),
  );
  app.use(express.urlencoded({ extended: false, limit: '4kb' }));

  app.get('/', (req, res) => {
    const { user, counter } = req.session;
    res.type('html').send(user === undefined ? loginPage() : loggedInPage(user, counter ?? 0));
  });

  app.get('/api/state', (req, res) => {
    res.json({ user: req.session.user ?? null, counter: req.session.user === undefined ? null : (req.session.counter ?? 0) });
  });

  app.post('/login', (req, res, next) => {
    const name = String((req.body as Record<string, unknown> | undefined)?.username ?? '').trim();
    if (name === '' || name.length > USERNAME_CHARS_MAX) return void res.status(400).type('html').send(loginPage());
    // A new ID at login: a session ID planted before login (fixation) is worth nothing after.
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

  app.use(sessiondErrorHandler());
  return app;
}
