import express from 'express';
import session from 'express-session';
import { SessiondStore, sessiondErrorHandler, sessiondSerialize } from '../src/adapters/express.js';
import { addDemoRoutes } from './routes.js';

const WEEK_MS = 7 * 24 * 3600_000;

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

  addDemoRoutes(app);

  app.use(sessiondErrorHandler());
  return app;
}
