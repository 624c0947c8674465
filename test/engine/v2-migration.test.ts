// Integration: a store written by the format v2 engine (test/fixtures/store-v2, made by
// test/fixtures/make-store-v2.mjs from main before v3) opens, keeps every session, gains
// principals, and is rewritten as v3 (docs/format.md §4, migration).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { DB_BLOCK_BYTES, IMAGE, IMAGE_LIVE_MAGIC } from '../../src/format/constants.js';

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/store-v2', import.meta.url));
/** Two seconds after the fixture's last write: its tombstone is still alive. */
const NOW = 1_700_000_002_000;

function copyFixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sessiond-format-v2-'));
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

function u32(file: string, at: number): number {
  return readFileSync(file).readUInt32LE(at);
}

/** payloadLayout of every block that starts with the live magic. */
function imageLayouts(file: string): number[] {
  const b = readFileSync(file);
  const out: number[] = [];
  for (let at = 2 * DB_BLOCK_BYTES; at + 24 <= b.length; at += DB_BLOCK_BYTES) {
    if (b.readUInt32LE(at) === IMAGE_LIVE_MAGIC) out.push(b[at + IMAGE.payloadLayout]!);
  }
  return out;
}

const ids = (e: SessionEngine, p: string): string[] => e.sessionsOf(p).map((s) => s.id).sort();

test('the fixture is a v2 store with changes in both the database file and the log', () => {
  assert.equal(u32(join(FIXTURE, 'log-0'), 8), 2);
  assert.equal(u32(join(FIXTURE, 'sessions.db'), 8), 2);
  assert.deepEqual(imageLayouts(join(FIXTURE, 'sessions.db')), [0, 0, 0, 0]);
});

test('a v2 store opens with every session, computes principals, and is rewritten as v3', async () => {
  const dir = copyFixture();
  try {
    const engine = await SessionEngine.open({ dir, clock: new ManualClock(NOW), principal: 'user' });
    assert.deepEqual(engine.ids().sort(), ['s-alice-1', 's-alice-2', 's-anon', 's-carol-1']);
    assert.equal(engine.get('s-alice-2')!.attrs, '"user"\u0001"alice"\u0000"n"\u00013');
    assert.ok(engine.get('s-alice-1')!.attrs.includes('v2-marker-in-image'));
    assert.ok(engine.isDestroyed('s-bob-1'), 'the v2 TOMBSTONE record still refuses late saves');
    assert.deepEqual(ids(engine, 'alice'), ['s-alice-1', 's-alice-2']);
    assert.deepEqual(ids(engine, 'bob'), ['s-anon'], 'a v2 PATCH gets its principal from the patched attributes');
    assert.deepEqual(ids(engine, 'carol'), ['s-carol-1']);
    await engine.close();
    assert.equal(u32(join(dir, 'sessions.db'), 8), 3);
    assert.deepEqual(imageLayouts(join(dir, 'sessions.db')), [3, 3, 3, 3]);
    for (const log of ['log-0', 'log-1']) assert.equal(u32(join(dir, log), 8), 3, log);
    // Without the option the principals come from the v3 images: they were stored.
    const again = await SessionEngine.open({ dir, clock: new ManualClock(NOW) });
    assert.deepEqual(ids(again, 'alice'), ['s-alice-1', 's-alice-2']);
    assert.deepEqual(ids(again, 'bob'), ['s-anon']);
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a v2 store opened with encryption keeps no clear attribute of a small session in any file', async () => {
  const dir = copyFixture();
  try {
    const encryption = { keys: { k1: randomBytes(32) }, current: 'k1' };
    const engine = await SessionEngine.open({ dir, clock: new ManualClock(NOW), encryption });
    assert.ok(engine.get('s-carol-1')!.attrs.includes('v2-marker-in-log'));
    await engine.close();
    for (const f of readdirSync(dir)) assert.ok(!readFileSync(join(dir, f)).includes('v2-marker'), `${f} holds a clear v2 attribute`);
    const again = await SessionEngine.open({ dir, clock: new ManualClock(NOW), encryption });
    assert.ok(again.get('s-alice-1')!.attrs.includes('v2-marker-in-image'));
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
