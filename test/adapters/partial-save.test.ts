// Partial saves (issue item 4, SPEC E2/E10), observed in the bytes that reach the log: when
// a request changes one attribute only that attribute is written; when nothing but the
// expiry moves, only a small TOUCH; when nothing changes, nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import type session from 'express-session';
import { SessiondStore } from '../../src/adapters/express.js';
import { LogBytesFs, removeDir, tempDir, HANG_GUARD } from './adapter-fixtures.js';
import { createTestApp } from './express-app.js';

const PROFILE_BYTES = 16_000;

async function withStore(t: { after(fn: () => Promise<void>): void }): Promise<{ store: SessiondStore; fs: LogBytesFs }> {
  const dir = tempDir('partial');
  const fs = new LogBytesFs();
  const store = new SessiondStore({ dir, fs });
  t.after(async () => {
    await store.close();
    removeDir(dir);
  });
  return { store, fs };
}

function set(store: SessiondStore, id: string, data: Record<string, unknown>): Promise<void> {
  return new Promise((ok, ko) => store.set(id, data as unknown as session.SessionData, (e) => (e ? ko(e) : ok())));
}

test('an increment through express writes the counter, not the 16 kB profile beside it', HANG_GUARD, async (t) => {
  const { store, fs } = await withStore(t);
  const agent = request.agent(createTestApp({ store, cookieMaxAgeMs: 60_000 }));
  let mark = fs.logBytesWritten;
  await agent.post(`/login?profileBytes=${PROFILE_BYTES}`).expect(200);
  assert.ok(fs.logBytesWritten - mark > PROFILE_BYTES, 'the first save writes the whole session');

  mark = fs.logBytesWritten;
  assert.equal((await agent.post('/increment').expect(200)).body.counter, 1);
  const written = fs.textSince(mark);
  assert.ok(written.length > 0 && written.length < 512, `an increment wrote ${written.length} bytes`);
  assert.ok(written.includes('"counter"\x011'), 'the record carries the new counter');
  assert.ok(!written.includes('pppp') && !written.includes('"user"'), 'and no other attribute');
});

test('set writes only the changed attribute, a TOUCH for an expiry-only change, nothing for no change', HANG_GUARD, async (t) => {
  const { store, fs } = await withStore(t);
  const id = store.generateId();
  const expires = new Date(Date.now() + 60_000);
  const base = { profile: 'p'.repeat(PROFILE_BYTES), a: 1, b: 2 };
  await set(store, id, { cookie: { originalMaxAge: 60_000, expires }, ...base });

  let mark = fs.logBytesWritten;
  await set(store, id, { cookie: { originalMaxAge: 60_000, expires }, ...base, b: 3 });
  const patch = fs.textSince(mark);
  assert.ok(patch.includes('"b"\x013'), 'the changed attribute is written');
  assert.ok(!patch.includes('"a"') && !patch.includes('"profile"') && !patch.includes('"cookie"'), 'nothing else is');

  mark = fs.logBytesWritten;
  await set(store, id, { cookie: { originalMaxAge: 60_000, expires: new Date(expires.getTime() + 1000) }, ...base, b: 3 });
  const touch = fs.logBytesWritten - mark;
  assert.ok(touch > 0 && touch < 128, `an expiry-only save wrote ${touch} bytes`);
  assert.equal((await store.engine()).get(id)?.expiresAtMs, expires.getTime() + 1000);

  mark = fs.logBytesWritten;
  await set(store, id, { cookie: { originalMaxAge: 60_000, expires: new Date(expires.getTime() + 1000) }, ...base, b: 3 });
  assert.equal(fs.logBytesWritten - mark, 0, 'an identical save writes nothing');
});
