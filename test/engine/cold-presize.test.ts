/**
 * The engine's cold sessions are sized at the open for the images the database file's
 * header counts (kind: unit, on the simulated file layer; the database side is
 * test/db/scan-presize.test.ts), instead of doubling ten times at a million.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ColdSessions } from '../../src/engine/cold-sessions.js';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { attributesFromBlob } from '../../src/session/attributes.js';

/** More than the 1,024 slots the arrays start with, and not a power of two (doubling would overshoot it). */
const IMAGES = 3000;

test('ColdSessions.reserve grows to the count asked, never shrinks, and keeps what it holds', () => {
  const cold = new ColdSessions();
  const summary = { lsn: 1, createdAtMs: 0, lastAccessAtMs: 5, expiryMs: 99, attrChars: 3, owner: 'o', principal: 'p' };
  cold.set('kept-session-id-000', summary, new Uint8Array([1, 2, 3]));
  cold.reserve(IMAGES);
  assert.equal(cold.capacity, IMAGES);
  cold.reserve(10);
  assert.equal(cold.capacity, IMAGES);
  assert.deepEqual(cold.get('kept-session-id-000'), summary);
  assert.deepEqual([...cold.packed('kept-session-id-000')!.data], [1, 2, 3]);
  for (let i = 0; i < IMAGES; i++) cold.set(`cold-session-${String(i).padStart(8, '0')}`, summary);
  assert.equal(cold.capacity, IMAGES + IMAGES, 'past the reserve it doubles again');
  cold.checkInvariants();
});

test('a reopened engine sizes its cold sessions for the images of the file', async () => {
  const clock = new ManualClock();
  const fs = new SimFileSystem(5);
  const opts = { dir: '/presize', fs, clock, flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000 };
  let e = await SessionEngine.open(opts);
  for (let i = 0; i < IMAGES; i++) await e.save(`presize-${String(i).padStart(12, '0')}`, { attributes: { n: String(i) } });
  await e.close(); // flushed: every session is an image
  e = await SessionEngine.open(opts);
  const cold = (e as unknown as { cache: { cold: ColdSessions } }).cache.cold;
  assert.equal(cold.size, IMAGES);
  assert.equal(cold.capacity, IMAGES, 'reserved from the header (4,096 without it)');
  const last = e.get(`presize-${String(IMAGES - 1).padStart(12, '0')}`);
  assert.equal(attributesFromBlob(last!.attrs).get('n'), String(IMAGES - 1));
  await e.close();
});
