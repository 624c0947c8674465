/**
 * Issue 8, Done-when: "a read of a session not yet loaded during a restart waits for it
 * rather than answering absent". The store is constructed on a crashed store directory and
 * asked for every session at once, before its engine has opened (the log still to replay);
 * each answer must be the session as last acknowledged, never "absent", and the first
 * requests must have been made while the engine was not yet open (else this proves nothing).
 * Kind: integration, simulated files (a process crash), the express adapter's Store API.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SessionData } from 'express-session';
import { SessiondStore } from '../../src/adapters/express.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';

const HOUR = 3_600_000;
const SESSIONS = 2000;

function get(store: SessiondStore, sid: string): Promise<SessionData | null | undefined> {
  return new Promise((resolve, reject) => store.get(sid, (err, s) => (err ? reject(err as Error) : resolve(s))));
}
function set(store: SessiondStore, sid: string, s: SessionData): Promise<void> {
  return new Promise((resolve, reject) => store.set(sid, s, (err) => (err ? reject(err as Error) : resolve())));
}

test('reads made while a restarted store replays its log wait for their session and never answer absent', async () => {
  const fs = new SimFileSystem(8);
  // The flusher never runs: every acknowledged session is in the log only when the process dies.
  const before = new SessiondStore({ dir: '/s', fs, flushIntervalMs: HOUR, expiryIntervalMs: HOUR });
  const ids: string[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const sid = before.generateId();
    ids.push(sid);
    await set(before, sid, { cookie: { originalMaxAge: HOUR, expires: new Date(Date.now() + HOUR) }, n: i } as unknown as SessionData);
  }
  const survivor = fs.crash(3); // kill -9: the page cache survives, the process does not

  const after = new SessiondStore({ dir: '/s', fs: survivor, flushIntervalMs: HOUR, expiryIntervalMs: HOUR });
  let openedAt = -1;
  let asked = 0;
  let askedBeforeOpen = 0;
  void after.engine().then(() => (openedAt = asked));
  const answers = await Promise.all(
    ids.map((sid) => {
      asked++;
      if (openedAt < 0) askedBeforeOpen++;
      return get(after, sid);
    }),
  );
  assert.ok(askedBeforeOpen > 0, 'the reads were made before the engine opened');
  answers.forEach((s, i) => {
    assert.ok(s !== null && s !== undefined, `session ${i} answered absent during the restart`);
    assert.equal((s as unknown as { n: number }).n, i, `session ${i} has its last acknowledged state`);
  });
  await after.close();
});
