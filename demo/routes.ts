import type express from 'express';
import type { Request, Response } from 'express';
import { loggedInPage, loginPage } from './pages.js';

declare module 'express-session' {
  interface SessionData {
    user?: string;
    counter?: number;
  }
}

const USERNAME_CHARS_MAX = 64;

export interface DemoRouteOptions {
  /** Wraps every page (the cluster demo stamps the worker that answered). */
  page?: (html: string) => string;
  /** Extra fields of /api/state. */
  state?: () => Record<string, unknown>;
}

/** Saves before answering, so a failed save (413, 503) becomes the response instead of a broken one. */
function saveThen(req: Request, res: Response, next: (err?: unknown) => void, answer: () => void): void {
  req.session.save((err) => (err ? next(err) : answer()));
}

/**
 * The demo's pages and actions (login, a counter, logout), on plain express-session: both
 * demos mount them, `npm start` over SessiondStore, `npm run demo:cluster` over connect-redis.
 */
export function addDemoRoutes(app: express.Express, o: DemoRouteOptions = {}): void {
  const page = o.page ?? ((html: string) => html);
  app.get('/', (req, res) => {
    const { user, counter } = req.session;
    res.type('html').send(page(user === undefined ? loginPage() : loggedInPage(user, counter ?? 0)));
  });

  app.get('/api/state', (req, res) => {
    res.json({ user: req.session.user ?? null, counter: req.session.user === undefined ? null : (req.session.counter ?? 0), ...o.state?.() });
  });

  app.post('/login', (req, res, next) => {
    const name = String((req.body as Record<string, unknown> | undefined)?.username ?? '').trim();
    if (name === '' || name.length > USERNAME_CHARS_MAX) return void res.status(400).type('html').send(page(loginPage()));
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
}
