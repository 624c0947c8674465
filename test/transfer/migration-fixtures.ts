/**
 * Sessions as express-session hands them to a store (real `Cookie` objects), for the
 * migration tests from connect-redis and connect-pg-simple, and the check that sessiond's
 * express store reads back, after export and import, what the old store reads back.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import session from 'express-session';
import { SessiondStore } from '../../src/adapters/express.js';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { CLI, run } from '../server/server-process.js';

export const MIGRATED_COUNT = 60;

/** Some with a maxAge (the cookie's expires is the expiry), some without (the old store's TTL is). */
export function expressSessions(): Map<string, session.SessionData> {
  const out = new Map<string, session.SessionData>();
  for (let i = 0; i < MIGRATED_COUNT; i++) {
    const cookie = new (session.Cookie as unknown as new (o: object) => session.Cookie)({ maxAge: i % 3 === 0 ? undefined : 3_600_000 + i * 1000, httpOnly: true, path: '/' });
    const s = { cookie, user: { id: i, name: `user ${i} ✓`, roles: ['a', 'b'] }, cart: i % 2 === 0 ? [] : [{ sku: 'x', qty: i }], flag: i % 5 === 0 ? null : true, note: 'quote " backslash \\ \u2028' } as unknown as session.SessionData;
    out.set(`mig-${i}-${'k'.repeat(i % 30)}`, s);
  }
  return out;
}

function get(store: session.Store, sid: string): Promise<unknown> {
  return new Promise((resolve, reject) => store.get(sid, (err, s) => (err ? reject(err as Error) : resolve(s ?? undefined))));
}

/**
 * Every session reads back through SessiondStore exactly as `oldStore` reads it (every
 * attribute, the cookie included), and its expiry is within a second of `expiryMs(sid)`.
 */
export async function assertSameAsOldStore(engine: SessionEngine, oldStore: session.Store, sids: Iterable<string>, expiryMs: (sid: string) => Promise<number>): Promise<void> {
  const ours = new SessiondStore(engine);
  let n = 0;
  for (const sid of sids) {
    const theirs = await get(oldStore, sid);
    assert.ok(theirs !== undefined, `${sid} is in the old store`);
    assert.deepEqual(await get(ours, sid), theirs, sid);
    const expected = await expiryMs(sid);
    const got = engine.get(sid)!.expiresAtMs;
    assert.ok(Math.abs(got - expected) <= 1000, `${sid}: expiry ${got} vs ${expected}`);
    n++;
  }
  assert.equal(n, MIGRATED_COUNT);
  assert.equal(engine.count(), MIGRATED_COUNT, 'nothing else was imported');
}

/**
 * The export `file` holds MIGRATED_COUNT sessions; `sessiond import` of it into `dir` exits
 * 0 having written them all, and the store there reads every session back as `oldStore`
 * does (assertSameAsOldStore).
 */
export async function assertImportedLikeOldStore(file: string, dir: string, oldStore: session.Store, sids: Iterable<string>, expiryMs: (sid: string) => Promise<number>): Promise<void> {
  assert.equal(readFileSync(file, 'utf8').trimEnd().split('\n').length, MIGRATED_COUNT);
  const im = await run(process.execPath, [CLI, 'import', dir, file]);
  assert.equal(im.code, 0, im.stderr);
  assert.match(im.stdout, new RegExp(`${MIGRATED_COUNT} written`));
  const engine = await SessionEngine.open({ dir });
  try {
    await assertSameAsOldStore(engine, oldStore, sids, expiryMs);
  } finally {
    await engine.close();
  }
}
