// Integration tests (express-session on a real server, real files): never a false success.
// express-session saves at the end of the response, after it has sent the status line and
// all but the last byte of the body. When that save fails (here: a session past
// sessionBytesMax), the client must not receive a complete response, however the route
// ends it; a route that awaits req.session.save(cb) first gets its 413.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import express, { type Response } from 'express';
import session from 'express-session';
import { SessiondStore, sessiondErrorHandler } from '../../src/adapters/express.js';
import { removeDir, serveLocal, tempDir, HANG_GUARD, type After } from './adapter-fixtures.js';

const SECRET = 'false-success test secret';
const SESSION_BYTES_MAX = 64 * 1024;
const TOO_BIG = 'x'.repeat(2 * SESSION_BYTES_MAX);

declare module 'express-session' {
  interface SessionData {
    blob?: string;
  }
}

/** Every way a route can end its response. */
const ENDINGS: Record<string, (res: Response) => void> = {
  send: (res) => res.send('saved your session'),
  json: (res) => res.json({ saved: true }),
  end: (res) => res.end('saved'),
  'end without a body': (res) => res.end(),
  redirect: (res) => res.redirect('/done'),
  sendStatus: (res) => res.sendStatus(201),
  'write then end (chunked)': (res) => {
    res.write('saved ');
    res.end('your session');
  },
  'a piped stream': (res) => {
    Readable.from(['saved ', 'your ', 'session']).pipe(res);
  },
};

interface RawResult {
  status: number | undefined;
  /** true only when the whole response arrived (Content-Length met or the last chunk seen). */
  complete: boolean;
  body: string;
}

/** A request that reports a response cut short instead of failing. */
function rawGet(url: string): Promise<RawResult> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, complete: res.complete, body }));
      res.on('error', () => resolve({ status: res.statusCode, complete: false, body }));
      res.on('aborted', () => resolve({ status: res.statusCode, complete: false, body }));
    });
    req.on('error', () => resolve({ status: undefined, complete: false, body: '' }));
    req.end();
  });
}

async function startApp(t: After): Promise<{ url: string; store: SessiondStore }> {
  const dir = tempDir('false-success');
  const store = new SessiondStore({ dir, sessionBytesMax: SESSION_BYTES_MAX });
  const app = express();
  app.set('env', 'test');
  app.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false }));
  app.get('/ending/:i', (req, res) => {
    req.session.blob = TOO_BIG;
    Object.values(ENDINGS)[Number(req.params.i)]!(res);
  });
  app.get('/save-first', (req, res, next) => {
    req.session.blob = TOO_BIG;
    req.session.save((err) => (err ? next(err) : res.send('saved')));
  });
  app.get('/small', (req, res) => {
    req.session.blob = 'fits';
    res.send('saved');
  });
  app.use(sessiondErrorHandler());
  const url = await serveLocal(t, app, async () => {
    await store.close();
    removeDir(dir);
  });
  return { url, store };
}

for (const [i, name] of Object.keys(ENDINGS).entries()) {
  test(`a failed end-of-response save never reaches the client as a complete response: ${name}`, HANG_GUARD, async (t) => {
    const { url, store } = await startApp(t);
    const r = await rawGet(`${url}/ending/${i}`);
    assert.equal(r.complete, false, `the client got a complete ${r.status} "${r.body}" while nothing was stored`);
    assert.equal((await store.engine()).count(), 0, 'nothing was stored');
  });
}

test('a route that saves before answering gets the 413 itself', HANG_GUARD, async (t) => {
  const { url } = await startApp(t);
  const r = await rawGet(`${url}/save-first`);
  assert.equal(r.status, 413);
  assert.ok(r.complete);
});

test('a save that succeeds at the end of the response is a complete response', HANG_GUARD, async (t) => {
  const { url, store } = await startApp(t);
  const r = await rawGet(`${url}/small`);
  assert.deepEqual(r, { status: 200, complete: true, body: 'saved' });
  assert.equal((await store.engine()).count(), 1);
});
