// The serialization middleware's fast path: a request whose session turn is free takes it
// at once (lockNow, no promise) and goes on in the same tick; a held turn is waited for as
// before, and a turn taken either way is given back when the response ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { NextFunction, Request, Response } from 'express';
import { SessiondStore, sessiondSerialize } from '../../src/adapters/express.js';
import { readCookie } from '../../src/adapters/session-cookie.js';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { removeDir, tempDir, HANG_GUARD } from './adapter-fixtures.js';

const SECRET = 'serialize-now secret';
const signature = createRequire(import.meta.url)('cookie-signature') as { sign(v: string, s: string): string };

/** Runs the middleware on a fake request; resolves how `next` was reached. */
function runMiddleware(mw: ReturnType<typeof sessiondSerialize>, cookie: string): { res: EventEmitter; sameTick: boolean; next: Promise<void> } {
  const res = new EventEmitter();
  let sameTick = true;
  let called = false;
  const next = new Promise<void>((resolve) => {
    mw({ headers: { cookie } } as Request, res as unknown as Response, ((err?: unknown) => {
      assert.equal(err, undefined);
      called = true;
      resolve();
    }) as NextFunction);
  });
  sameTick = called;
  return { res, sameTick, next };
}

test('a free turn is taken in the same tick; a held one is waited for; both are given back when the response ends', HANG_GUARD, async () => {
  const dir = tempDir('serialize-now');
  const store = new SessiondStore({ dir });
  try {
    await store.engine();
    const id = store.generateId();
    const cookie = 'other=1; connect.sid=' + encodeURIComponent('s:' + signature.sign(id, SECRET));
    const mw = sessiondSerialize(store, { secret: SECRET });
    const first = runMiddleware(mw, cookie);
    assert.equal(first.sameTick, true, 'the free turn: next() before the middleware returned');
    assert.equal(store.lockNow(id), undefined, 'the first request holds the turn');
    const second = runMiddleware(mw, cookie);
    assert.equal(second.sameTick, false);
    let secondRan = false;
    void second.next.then(() => (secondRan = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(secondRan, false, 'waits while the first holds the turn');
    first.res.emit('finish');
    first.res.emit('close');
    await second.next;
    second.res.emit('close');
    const release = store.lockNow(id);
    assert.ok(release, 'given back by both');
    release();
  } finally {
    await store.close();
    removeDir(dir);
  }
});

test('SessionEngine.lockNow: the turn when free, undefined while held or once closed; its release hands on to a waiter', HANG_GUARD, async () => {
  const dir = tempDir('lock-now');
  const engine = await SessionEngine.open({ dir });
  const id = engine.generateId();
  try {
    const release = engine.lockNow(id);
    assert.ok(release);
    assert.equal(engine.lockNow(id), undefined);
    const waiter = engine.lock(id);
    release();
    const next = await waiter;
    assert.equal(engine.lockNow(id), undefined, 'the waiter holds it now');
    next();
    const again = engine.lockNow(id);
    assert.ok(again);
    again();
  } finally {
    await engine.close();
    removeDir(dir);
  }
  assert.equal(engine.lockNow(id), undefined, 'closed');
});

test('readCookie: the named cookie, trimmed, unquoted, percent-decoded when it can be', () => {
  assert.equal(readCookie('a=1; connect.sid=s%3Aabc.def; b=2', 'connect.sid'), 's:abc.def');
  assert.equal(readCookie('connect.sid=plain', 'connect.sid'), 'plain');
  assert.equal(readCookie(' x = 1 ;  connect.sid =  v  ', 'connect.sid'), 'v');
  assert.equal(readCookie('connect.sid="quoted%20value"', 'connect.sid'), 'quoted value');
  assert.equal(readCookie('connect.sid="', 'connect.sid'), '"');
  assert.equal(readCookie('connect.sid=bad%zz', 'connect.sid'), 'bad%zz');
  assert.equal(readCookie('connect.sid=a=b', 'connect.sid'), 'a=b');
  assert.equal(readCookie('xconnect.sid=1; connect.sidx=2', 'connect.sid'), undefined);
  assert.equal(readCookie('novalue; connect.sid=2', 'connect.sid'), '2');
  assert.equal(readCookie('a=1;;connect.sid=3;', 'connect.sid'), '3');
  assert.equal(readCookie('connect.sid=first; connect.sid=second', 'connect.sid'), 'first');
  assert.equal(readCookie(['a=1', 'connect.sid=4'], 'connect.sid'), '4');
  assert.equal(readCookie('', 'connect.sid'), undefined);
  assert.equal(readCookie(undefined, 'connect.sid'), undefined);
  assert.equal(readCookie('connect.sid=', 'connect.sid'), '');
});
