/**
 * The open without a cache bound (kind: unit, on the simulated file layer): image payloads
 * are packed off-heap and decoded on first access. Every synchronous read and write sees a
 * packed session exactly as stored; expiry, the census and recovery work without decoding
 * it; the arena lets go of a chunk once nothing in it is packed any more.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import { SessionArena, ARENA_CHUNK_BYTES } from '../../src/engine/session-arena.js';
import type { EngineOptionsInput } from '../../src/options.js';

const N = 40;

function idOf(i: number): string {
  return `pack${String(i).padStart(20, '0')}`;
}

function attrsOf(i: number): Record<string, string> {
  return { user: JSON.stringify(`user-${i}`), n: String(i) };
}

function opts(fs: SimFileSystem, clock: ManualClock): EngineOptionsInput {
  return { dir: '/p', fs, clock, flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000 };
}

async function storeOf(clock: ManualClock): Promise<SimFileSystem> {
  const fs = new SimFileSystem(11);
  const e = await SessionEngine.open(opts(fs, clock));
  for (let i = 0; i < N; i++) await e.save(idOf(i), { attributes: attrsOf(i), expiresAtMs: clock.now() + (i % 2 === 0 ? 1_000 : 3_600_000) });
  await e.close(); // flushed: every session is an image
  return fs;
}

test('a reopened store packs its sessions and decodes each on first access, synchronously', async () => {
  const clock = new ManualClock();
  const fs = await storeOf(clock);
  const e = await SessionEngine.open(opts(fs, clock));
  let st = await e.stats();
  assert.equal(st.cache.cold, N, 'no session was decoded by the open');
  assert.equal(st.cache.loaded, 0);
  assert.equal(st.sessions.count, N, 'the census counts packed sessions');
  assert.equal(e.count(), N);
  const s = e.get(idOf(3))!;
  assert.deepEqual(Object.fromEntries(attributesFromBlob(s.attrs)), attrsOf(3));
  assert.equal(s.version, 1);
  st = await e.stats();
  assert.deepEqual([st.cache.cold, st.cache.loaded], [N - 1, 1]);
  // Writes build on the packed state: a patch keeps the other attributes and bumps the version.
  const p = await e.patch(idOf(5), { set: { n: '55' } });
  assert.equal(p.version, 2);
  assert.equal(attributesFromBlob(p.attrs).get('user'), JSON.stringify('user-5'));
  assert.equal((await e.touch(idOf(7), { expiresAtMs: clock.now() + 7_000_000 }))!.version, 2);
  assert.equal(await e.destroy(idOf(9)), true);
  assert.equal(e.all().length, N - 1, 'all() decodes what is still packed');
  await e.close();
  const e2 = await SessionEngine.open(opts(fs, clock));
  assert.equal(attributesFromBlob(e2.get(idOf(5))!.attrs).get('n'), '55');
  assert.equal(e2.get(idOf(7))!.expiresAtMs, clock.now() + 7_000_000);
  assert.equal(e2.get(idOf(9)), undefined);
  await e2.close();
});

test('packed sessions expire by their summary: counted out and dropped at the next open without being decoded', async () => {
  const clock = new ManualClock();
  const fs = await storeOf(clock);
  const e = await SessionEngine.open(opts(fs, clock));
  clock.advance(2_000);
  assert.equal(e.count(), N / 2);
  assert.equal((await e.stats()).sessions.count, N / 2);
  assert.equal(e.get(idOf(0)), undefined, 'an expired packed session reads as absent');
  assert.equal((await e.stats()).cache.loaded, 1, 'only the session read was decoded');
  await e.close();
  const e2 = await SessionEngine.open(opts(fs, clock));
  assert.equal(e2.recovery.sessionsExpired, N / 2);
  assert.equal((await e2.stats()).db.liveImages, N / 2, 'recovery freed the expired images');
  await e2.close();
});

test('log records of packed sessions are replayed onto their images', async () => {
  const clock = new ManualClock();
  const fs = await storeOf(clock);
  const e = await SessionEngine.open(opts(fs, clock));
  for (let i = 1; i < N; i += 2) await e.patch(idOf(i), { set: { n: `${i}x` }, remove: ['user'] });
  const survivor = fs.crash(12, { mode: 'tear' });
  await e.close().catch(() => undefined);
  const e2 = await SessionEngine.open(opts(survivor, clock));
  for (let i = 1; i < N; i += 2) assert.deepEqual(Object.fromEntries(attributesFromBlob(e2.get(idOf(i))!.attrs)), { n: `${i}x` });
  assert.equal(e2.count(), N);
  await e2.close();
});

test('the arena drops a chunk once nothing in it is packed', () => {
  const a = new SessionArena();
  const big = new Uint8Array(ARENA_CHUNK_BYTES / 2 + 1).fill(7);
  const c1 = a.add(big);
  const o1 = a.lastOffset;
  const c2 = a.add(big); // does not fit the first chunk's rest
  assert.notEqual(c1, c2);
  assert.equal(a.bytes, 2 * ARENA_CHUNK_BYTES);
  assert.equal(a.view(c1, o1, 3)[2], 7);
  a.release(c1, big.byteLength);
  assert.equal(a.bytes, ARENA_CHUNK_BYTES);
  assert.throws(() => a.view(c1, o1, 3));
  const huge = new Uint8Array(ARENA_CHUNK_BYTES + 5).fill(9);
  const c3 = a.add(huge);
  assert.equal(a.view(c3, a.lastOffset, huge.byteLength)[ARENA_CHUNK_BYTES + 4], 9);
  const c4 = a.add(new Uint8Array([1, 2, 3]));
  assert.notEqual(c4, c3, 'a payload bigger than a chunk gets a chunk of its own');
  assert.notEqual(c4, c2);
});
