import express, { type Request, type Response } from 'express';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import type { RedisClientType } from 'redis';
import { addDemoRoutes } from '../routes.js';

/**
 * The demo app of `npm run demo:cluster`: the same login + counter pages as `npm start`, but
 * on the stock Redis stack (express-session + connect-redis + node-redis) talking to
 * `sessiond serve`. No sessiond code here: any Redis-backed express app works unchanged.
 */

const WEEK_MS = 7 * 24 * 3600_000;

/** Every page says which worker answered, so one can see the requests spread. */
function withWorker(html: string): string {
  return html.replace('</body>', `<p><small id="worker">served by worker ${process.pid}</small></p>\n</body>`);
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

  addDemoRoutes(app, { page: withWorker, state: () => ({ worker: process.pid }) });

  // The session server is down (killed, restarting): say so; node-redis reconnects by itself.
  app.use((err: unknown, _req: Request, res: Response, _next: (e?: unknown) => void) => {
    res.status(503).type('text').send(`session store unavailable: ${(err as Error).message}`);
  });
  return app;
}
