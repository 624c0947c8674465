/**
 * Back mode's answers at once, with no promise (kind: integration, real PostgreSQL; local
 * engines on the simulated file layer): lockNow, getNow and touchNow of a session this
 * server keeps answer what lock(), get() and touch() would, and decline (undefined: the
 * caller takes the promise path) whenever those would wait, write or refuse: the session
 * not kept here (never taken, or handed over to another server), its turn held by a request
 * here, the lease not provable, a touch past touchAfterMs, through mode. The express
 * adapter takes these paths for a kept session: the serialization middleware goes on in
 * the same tick, and a read and its skipped touch never reach the engine's promise API.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { NextFunction, Request, Response } from 'express';
import { ManualClock } from '../../src/clock.js';
import { isSessiondError } from '../../src/errors.js';
import type { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import { SessiondStore, sessiondSerialize } from '../../src/adapters/express.js';
import { sessiondKoaStore } from '../../src/adapters/koa.js';
import { BackServers } from './back-server.js';

let n = 0;
const fresh = (): string => `BackNow${String(++n).padStart(4, '0')}xxxxxxxxxxxxxxx`;
const SECRET = 'back-now secret';
const signature = createRequire(import.meta.url)('cookie-signature') as { sign(v: string, s: string): string };

describe('GlobalSessionEngine (back mode): lockNow, getNow, touchNow', () => {
  const servers = new BackServers();
  before(() => servers.start());
  after(() => servers.close());

  /** A back-mode server (back-server.ts) on its own clocks, and a fresh session ID; undefined without PostgreSQL. */
  async function setup(name: string): Promise<{ a: GlobalSessionEngine; clock: ManualClock; mono: { ms: number }; id: string } | undefined> {
    if (servers.db === undefined) return undefined;
    const clock = new ManualClock(Date.now());
    const mono = { ms: 1_000 };
    return { a: await server(name, clock, mono), clock, mono, id: fresh() };
  }
  const server = (name: string, clock: ManualClock, mono: { ms: number }, over: Record<string, unknown> = {}): Promise<GlobalSessionEngine> =>
    servers.server(name, clock, { handoverPollMs: 50, ...over }, mono);

  it('lockNow: the turn of a kept session at once; undefined before it is kept, while held here, past the lease, once handed over, in through mode', async (t) => {
    const x = await setup('now-lock-a');
    if (x === undefined) return t.skip('PostgreSQL not reachable');
    const { a, clock, mono, id } = x;
    assert.equal(a.lockNow(id), undefined, 'never taken here: lock() takes it across servers');
    await a.save(id, { attributes: { n: '1' } });
    const r1 = a.lockNow(id);
    assert.ok(r1, 'kept after the save');
    assert.equal(a.lockNow(id), undefined, 'held by a request here');
    let second = false;
    const waiting = a.lock(id).then((r) => ((second = true), r));
    await new Promise((r) => setImmediate(r));
    assert.equal(second, false, 'lock() waits for the turn lockNow gave');
    r1();
    (await waiting)();
    mono.ms += a.global.leaseMs; // paused past the lease: lock() renews it first
    assert.equal(a.lockNow(id), undefined, 'the lease cannot be proven');
    (await a.lock(id))();
    const r2 = a.lockNow(id);
    assert.ok(r2, 'renewed by lock()');
    r2();

    const b = await server('now-lock-b', clock, mono);
    const rb = await b.lock(id); // a hands the session over
    try {
      assert.equal(a.lockNow(id), undefined, 'handed over: not a turn this server may give');
      assert.equal(b.lockNow(id), undefined, 'held by the request on b');
    } finally {
      rb();
    }
    const rb2 = b.lockNow(id);
    assert.ok(rb2, 'b keeps it now');
    rb2();

    const through = await server('now-lock-through', clock, mono, { mode: 'through' });
    const other = fresh();
    await through.save(other, { attributes: { n: '1' } });
    (await through.lock(other))();
    assert.equal(through.lockNow(other), undefined, 'through mode takes the turn across servers on every request');
  });

  it('getNow: what get() answers under a held turn; undefined without the turn or past the lease', async (t) => {
    const x = await setup('now-get-a');
    if (x === undefined) return t.skip('PostgreSQL not reachable');
    const { a, mono, id } = x;
    await a.save(id, { attributes: { n: '7' } });
    assert.equal(a.getNow(id), undefined, 'not held: get() takes the turn');
    const release = a.lockNow(id)!;
    try {
      const now = a.getNow(id);
      assert.ok(now?.state !== undefined);
      assert.deepEqual(now.state, await a.get(id));
      mono.ms += a.global.leaseMs;
      assert.equal(a.getNow(id), undefined, 'past the lease: get() renews it first');
      assert.deepEqual((await a.get(id))?.attrs, now.state.attrs);
      assert.deepEqual(a.getNow(id)?.state, now.state, 'renewed');
      assert.equal(await a.destroy(id), true);
      assert.deepEqual(a.getNow(id), { state: undefined }, 'destroyed by this request');
    } finally {
      release();
    }
  });

  it('touchNow: a touch within touchAfterMs done at once, writing nothing; past it, past the lease, or without the turn, left to touch()', async (t) => {
    const x = await setup('now-touch-a');
    if (x === undefined) return t.skip('PostgreSQL not reachable');
    const { a, clock, mono, id } = x;
    await a.save(id, { attributes: { n: '1' } });
    await a.writeBack();
    const s0 = a.local.get(id)!;
    assert.equal(a.touchNow(id), undefined, 'not held');
    const release = a.lockNow(id)!;
    try {
      clock.advance(Math.floor(a.global.touchAfterMs / 10));
      const now = a.touchNow(id);
      assert.ok(now?.state !== undefined);
      assert.deepEqual(now.state, await a.get(id));
      assert.equal(a.local.get(id)!.lsn, s0.lsn, 'no local touch record');
      assert.equal((await a.stats()).global.writeBackPending, 0, 'nothing pending');
      // The record's version forgotten (as a fenced write-back leaves it): touch() decides.
      const known = (a as unknown as { known: Map<string, unknown> }).known;
      const k = known.get(id);
      known.delete(id);
      assert.equal(a.touchNow(id), undefined, 'version not known');
      known.set(id, k);
      mono.ms += a.global.leaseMs;
      assert.equal(a.touchNow(id), undefined, 'past the lease: touch() refuses it');
      await assert.rejects(a.touch(id), (e) => isSessiondError(e, 'SESSIOND_GLOBAL_UNAVAILABLE'));
    } finally {
      release();
    }
    const again = await a.lock(id); // renews the lease
    try {
      assert.ok(a.touchNow(id) !== undefined, 'renewed');
      clock.advance(a.global.touchAfterMs);
      assert.equal(a.touchNow(id), undefined, 'past touchAfterMs: touch() logs it');
      assert.equal(a.local.get(id)!.lsn, s0.lsn);
      await a.touch(id);
      assert.notEqual(a.local.get(id)!.lsn, s0.lsn, 'touch() logged it');
    } finally {
      again();
    }
  });

  it('the express adapter: a kept session is served with no call to lock(), get() or touch(); a touch past touchAfterMs still reaches touch()', async (t) => {
    const x = await setup('now-express-a');
    if (x === undefined) return t.skip('PostgreSQL not reachable');
    const { a, clock, id } = x;
    const store = new SessiondStore(a);
    const cookie = { originalMaxAge: null, expires: null, httpOnly: true, path: '/' };
    await new Promise<void>((res, rej) => store.set(id, { cookie, n: 1 } as never, (e) => (e ? rej(e as Error) : res())));
    const calls = { lock: 0, get: 0, touch: 0 };
    for (const m of ['lock', 'get', 'touch'] as const) {
      const orig = a[m].bind(a) as (...x: unknown[]) => unknown;
      (a as unknown as Record<string, unknown>)[m] = (...x: unknown[]) => (calls[m]++, orig(...x));
    }
    const mw = sessiondSerialize(store, { secret: SECRET });
    const res = new EventEmitter();
    const req = { headers: { cookie: 'connect.sid=' + encodeURIComponent('s:' + signature.sign(id, SECRET)) } };
    let sameTick = false;
    mw(req as Request, res as unknown as Response, ((err?: unknown) => {
      assert.equal(err, undefined);
      sameTick = true;
    }) as NextFunction);
    assert.equal(sameTick, true, 'the kept turn: next() before the middleware returned');
    try {
      const sess = await new Promise<Record<string, unknown> | null | undefined>((res2, rej) => store.get(id, (e, s) => (e ? rej(e as Error) : res2(s as never))));
      assert.equal(sess?.n, 1);
      clock.advance(10);
      await new Promise<void>((res2, rej) => store.touch(id, sess as never, (e) => (e ? rej(e as Error) : res2())));
      assert.deepEqual(calls, { lock: 0, get: 0, touch: 0 });
      clock.advance(a.global.touchAfterMs);
      await new Promise<void>((res2, rej) => store.touch(id, sess as never, (e) => (e ? rej(e as Error) : res2())));
      assert.equal(calls.touch, 1, 'past touchAfterMs: touch()');
    } finally {
      res.emit('finish');
    }
    const r = store.lockNow(id);
    assert.ok(r, 'given back when the response finished');
    r();
  });

  it('the koa adapter: get of a kept session under a turn held here makes no call to get(); without the turn it does', async (t) => {
    const x = await setup('now-koa-a');
    if (x === undefined) return t.skip('PostgreSQL not reachable');
    const { a, id } = x;
    const store = sessiondKoaStore(a);
    await store.set(id, { n: 1 });
    let gets = 0;
    const orig = a.get.bind(a);
    a.get = (...x: Parameters<GlobalSessionEngine['get']>) => (gets++, orig(...x));
    const release = await store.lock(id);
    try {
      assert.equal((await store.get(id))?.n, 1);
      assert.equal(gets, 0, 'answered by getNow');
    } finally {
      release();
    }
    assert.equal((await store.get(id))?.n, 1);
    assert.equal(gets, 1, 'without the turn: get()');
  });
});
