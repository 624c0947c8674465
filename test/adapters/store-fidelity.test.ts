// Contract tests (simulated file system, injected clock), run against each framework store:
// what the store gives back is exactly what it was given (issue 7 §4). Session IDs as the
// middlewares make them, the session object to the key order, the expiry rules, and
// what the store answers for a session it cannot read. docs/adapters.md lists these in
// its compatibility table.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { SessiondStore } from '../../src/adapters/express.js';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { isSessiondError } from '../../src/errors.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import type { EngineOptionsInput } from '../../src/options.js';
import { STORE_KINDS, openStore, sameJson, type StoreKind, type StoreUnderTest } from './store-kinds.js';

const DIR = '/store';
const T0 = Date.UTC(2026, 0, 1);
const HOUR_MS = 3_600_000;

function engineOptions(fs: FileSystem, clock: ManualClock): EngineOptionsInput {
  return { dir: DIR, fs, clock, flushIntervalMs: HOUR_MS, expiryIntervalMs: HOUR_MS };
}

async function withStore(t: { after(fn: () => Promise<void>): void }, kind: StoreKind, fs = new SimFileSystem(), clock = new ManualClock(T0)): Promise<StoreUnderTest> {
  const store = openStore(kind, engineOptions(fs, clock));
  t.after(() => store.close());
  await store.engine();
  return store;
}

/** A session as each middleware hands it to its store, with an expiry `inMs` from T0. */
function frameworkSession(kind: StoreKind, data: Record<string, unknown>, inMs = HOUR_MS): Record<string, unknown> {
  const expires = new Date(T0 + inMs);
  if (kind === 'express') return { cookie: { originalMaxAge: inMs, partitioned: null, priority: null, expires, secure: false, httpOnly: true, path: '/', sameSite: null }, ...data };
  if (kind === 'fastify') return { cookie: { expires, originalMaxAge: inMs, originalExpires: expires, sameSite: null, secure: false, path: '/', httpOnly: true, domain: null }, ...data };
  return { ...data, _expire: T0 + inMs, _maxAge: inMs };
}

const isInvalidId = (e: unknown): boolean => isSessiondError(e, 'SESSIOND_INVALID_SESSION_ID');
const isInvalidArgument = (e: unknown): boolean => isSessiondError(e, 'SESSIOND_INVALID_ARGUMENT');

/** IDs the middlewares' own suites and their users make (express genid, koa prefix, connect-redis keys). */
const MIDDLEWARE_IDS = ['apple', '%', '/foo', '123', 'a', randomUUID(), `koa:sess:${randomUUID()}`, 'sess:' + 'x'.repeat(40), 'user/42?x=%41&y', 'ünïcödé-🔑', 'k'.repeat(512), 'é'.repeat(256)];

for (const kind of STORE_KINDS) {
  describe(`${kind} store`, () => {
    it('accepts every ID the middlewares make, up to 512 UTF-8 bytes, and keeps them across a restart', async (t) => {
      const fs = new SimFileSystem();
      const clock = new ManualClock(T0);
      const store = await withStore(t, kind, fs, clock);
      for (const [i, id] of MIDDLEWARE_IDS.entries()) await store.set(id, frameworkSession(kind, { i }));
      for (const [i, id] of MIDDLEWARE_IDS.entries()) assert.deepEqual((await store.get(id) as { i: number }).i, i, id);
      await store.close();
      const again = openStore(kind, engineOptions(fs, clock));
      t.after(() => again.close());
      for (const [i, id] of MIDDLEWARE_IDS.entries()) assert.deepEqual((await again.get(id) as { i: number } | undefined)?.i, i, `${id} after a restart`);
      await again.destroy('apple');
      assert.equal(await again.get('apple'), undefined);
    });

    it('an ID past 512 UTF-8 bytes, empty, or with a lone surrogate: a typed error on set, a miss on get and destroy', async (t) => {
      const store = await withStore(t, kind);
      for (const bad of ['k'.repeat(513), 'é'.repeat(256) + 'k', '', 'ab\ud800']) {
        await assert.rejects(store.set(bad, frameworkSession(kind, { a: 1 })), isInvalidId, JSON.stringify(bad.slice(0, 8)));
        assert.equal(await store.get(bad), undefined);
        await store.destroy(bad);
      }
    });

    it('a miss is undefined (cb(null, undefined) for the callback stores)', async (t) => {
      const store = await withStore(t, kind);
      assert.equal(await store.get('never-stored'), undefined);
    });

    it('random JSON sessions come back deep-equal, key order included (property)', async (t) => {
      const store = await withStore(t, kind);
      const key = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('cookie', '__proto__', 'constructor', '0', '10', '_expire', 'toJSON'));
      const data = fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 });
      let n = 0;
      await fc.assert(
        fc.asyncProperty(data, fc.boolean(), async (d, withFrameworkFields) => {
          const sess = withFrameworkFields ? frameworkSession(kind, d) : d;
          const id = `prop-${n++}`;
          await store.set(id, sess);
          const expected = JSON.parse(JSON.stringify(sess)) as unknown;
          const got = await store.get(id);
          assert.ok(sameJson(got, expected), `${JSON.stringify(got)} !== ${JSON.stringify(expected)}`);
        }),
        { numRuns: 150 },
      );
    });

    it('a session stored without a cookie (or any framework field) comes back without one', async (t) => {
      const store = await withStore(t, kind);
      await store.set('no-cookie', { foo: 'bar' });
      assert.ok(sameJson(await store.get('no-cookie'), { foo: 'bar' }));
    });

    it('an expiry of the epoch (new Date(0)) stores the session already expired, never forever', async (t) => {
      const clock = new ManualClock(T0);
      const store = await withStore(t, kind, new SimFileSystem(), clock);
      await store.set('epoch', frameworkSession(kind, { a: 1 }, -T0));
      assert.equal(await store.get('epoch'), undefined);
      const engine = await store.engine();
      assert.equal(engine.count(), 0);
      assert.ok(engine.ids().every((id) => id !== 'epoch'));
    });

    it('an expiry before 1970 is refused with SESSIOND_INVALID_ARGUMENT; the stored session is left as it was', async (t) => {
      const store = await withStore(t, kind);
      await store.set('neg', frameworkSession(kind, { a: 1 }));
      await assert.rejects(store.set('neg', frameworkSession(kind, { a: 2 }, -T0 - 1)), isInvalidArgument);
      assert.equal((await store.get('neg') as { a: number }).a, 1);
    });

    it('a past expiry is a miss at once, to the millisecond of the engine clock', async (t) => {
      const clock = new ManualClock(T0);
      const store = await withStore(t, kind, new SimFileSystem(), clock);
      await store.set('ms', frameworkSession(kind, { a: 1 }, 1000));
      clock.set(T0 + 999);
      assert.ok(await store.get('ms'));
      clock.set(T0 + 1000);
      assert.equal(await store.get('ms'), undefined);
    });

    it('attributes saved through the engine API that are not JSON: a typed error through the callback or promise, never a throw', async (t) => {
      const store = await withStore(t, kind);
      const engine = await store.engine();
      await engine.save('raw', { attributes: { a: 'not json' } });
      await assert.rejects(store.get('raw'), (e) => isSessiondError(e, 'SESSIOND_SESSION_NOT_JSON'));
    });
  });
}

describe('express store', () => {
  it('get after touch returns the touched cookie.expires (touch is answered before its fdatasync)', async (t) => {
    const clock = new ManualClock(T0);
    const express = new SessiondStore(engineOptions(new SimFileSystem(), clock));
    t.after(() => express.close());
    const cookie = { originalMaxAge: HOUR_MS, expires: new Date(T0 + HOUR_MS), httpOnly: true, path: '/' };
    await new Promise<void>((ok, ko) => express.set('t', { cookie, n: 1 } as never, (e) => (e ? ko(e) : ok())));
    const later = new Date(T0 + 2 * HOUR_MS);
    await new Promise<void>((ok, ko) => express.touch('t', { cookie: { ...cookie, expires: later }, n: 1 } as never, (e) => (e ? ko(e) : ok())));
    const got = await new Promise<unknown>((ok, ko) => express.get('t', (e, s) => (e ? ko(e) : ok(s))));
    assert.ok(sameJson(got, { cookie: { ...cookie, expires: later.toISOString() }, n: 1 }), JSON.stringify(got));
    // And an expiry before 1970 in a touch is refused like in a set.
    await assert.rejects(
      new Promise<void>((ok, ko) => express.touch('t', { cookie: { ...cookie, expires: new Date(-1) } } as never, (e) => (e ? ko(e) : ok()))),
      isInvalidArgument,
    );
  });

  it('all, length and ids skip a session stored with a past expiry (connect-redis: a set in the past removes the key)', async (t) => {
    const clock = new ManualClock(T0);
    const express = new SessiondStore(engineOptions(new SimFileSystem(), clock));
    t.after(() => express.close());
    const set = (id: string, expires: Date): Promise<void> =>
      new Promise((ok, ko) => express.set(id, { cookie: { originalMaxAge: null, expires } } as never, (e) => (e ? ko(e) : ok())));
    await set('789', new Date(T0 + 90_000));
    assert.equal(await new Promise((ok) => express.length((_e, n) => ok(n))), 1);
    await set('789', new Date(T0 - 90_000));
    assert.equal(await new Promise((ok) => express.length((_e, n) => ok(n))), 0);
    assert.deepEqual(await new Promise((ok) => express.ids((_e, ids) => ok(ids))), []);
    assert.deepEqual(await new Promise((ok) => express.all((_e, all) => ok(all))), {});
  });
});

describe('the engine and the stores agree', () => {
  it('an engine opened on the store directory reads the IDs the adapters wrote', async () => {
    const fs = new SimFileSystem();
    const clock = new ManualClock(T0);
    const store = openStore('koa', engineOptions(fs, clock));
    await store.set(`koa:sess:${'🔑'.repeat(100)}`, { a: 1 }, 60_000);
    await store.close();
    const engine = await SessionEngine.open(engineOptions(fs, clock));
    assert.deepEqual(engine.ids(), [`koa:sess:${'🔑'.repeat(100)}`]);
    await engine.close();
  });
});
