/**
 * Export and import through the engine (kind: integration on the simulated file system,
 * with a crash for durability). docs/operations.md "Export and import".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { ManualClock } from '../../src/clock.js';
import type { EngineOptionsInput } from '../../src/options.js';
import type { SessionState } from '../../src/session/session-state.js';
import { engineSessions, exportChunks } from '../../src/transfer/export-sessions.js';
import { importSessions, type ImportSummary } from '../../src/transfer/import-sessions.js';
import { exportLine, lineBytesMaxFor } from '../../src/transfer/export-line.js';
import { isSessiondError } from '../../src/errors.js';

const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

function opts(fs: SimFileSystem, clock: ManualClock, dir = '/store', over: Partial<EngineOptionsInput> = {}): EngineOptionsInput {
  return { dir, fs, clock, flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000, owner: 'srv-a', ...over };
}

async function exportText(e: SessionEngine): Promise<string> {
  let out = '';
  for await (const chunk of exportChunks(engineSessions(e))) out += chunk;
  return out;
}

function source(text: string, chunkBytes = 997): () => AsyncIterable<Uint8Array> {
  // Split at odd offsets: lines and UTF-8 characters cross chunk boundaries.
  const bytes = Buffer.from(text, 'utf8');
  return async function* () {
    for (let i = 0; i < bytes.length; i += chunkBytes) yield bytes.subarray(i, i + chunkBytes);
  };
}

function run(e: SessionEngine, text: string): Promise<ImportSummary> {
  return importSessions(e, { open: source(text) });
}

/** Everything an export carries, by ID (not version or lsn: those are the store's own). */
function contents(e: SessionEngine): Map<string, Omit<SessionState, 'version' | 'lsn'>> {
  const m = new Map<string, Omit<SessionState, 'version' | 'lsn'>>();
  for (const { version: _v, lsn: _l, ...rest } of e.all()) m.set(rest.id, rest);
  return m;
}

async function seed(e: SessionEngine, n: number, clock: ManualClock): Promise<void> {
  const saves: Array<Promise<unknown>> = [];
  for (let i = 0; i < n; i++) {
    if (i % 1000 === 0) clock.advance(7);
    const attributes: Record<string, string> = { user: JSON.stringify(`user-${i}`), n: String(i), cookie: '{"path":"/","expires":"\u0002"}' };
    if (i % 3 === 0) attributes['ünïcødé ' + i] = JSON.stringify('✓ "quoted" \\ \u2028');
    if (i === 5) attributes.__proto__ = '"proto"';
    saves.push(e.save(`sess-${i}-${'x'.repeat(i % 40)}`, { attributes, expiresAtMs: i % 4 === 0 ? 0 : T0 + DAY + i, maxInactiveMs: i % 5 === 0 ? 3_600_000 : 0 }));
  }
  await Promise.all(saves);
}

test('round trip of 10k sessions: export, import into a fresh store, and every field of every session is identical', { timeout: 240_000 }, async () => {
  const clock = new ManualClock(T0);
  const fs = new SimFileSystem();
  const a = await SessionEngine.open(opts(fs, clock, '/a'));
  await seed(a, 10_000, clock);
  clock.advance(1000);
  const text = await exportText(a);
  assert.equal(text.split('\n').length - 1, 10_000);
  // The second store has another owner: imported sessions keep the one they were exported with.
  const b = await SessionEngine.open(opts(fs, clock, '/b', { owner: 'srv-b' }));
  const r = await run(b, text);
  assert.deepEqual(r, { lines: 10_000, written: 10_000, unchanged: 0, newer: 0, expired: 0, destroyed: 0 });
  assert.deepEqual(contents(b), contents(a));
  assert.equal(b.get('sess-5-xxxxx')?.owner, 'srv-a');
  // And the state survives a restart of the importing store.
  await b.close();
  const b2 = await SessionEngine.open(opts(fs, clock, '/b', { owner: 'srv-b' }));
  assert.deepEqual(contents(b2), contents(a));
  await Promise.all([a.close(), b2.close()]);
});

test('import is idempotent: the second import of a file writes nothing and leaves every session as the first left it', async () => {
  const clock = new ManualClock(T0);
  const fs = new SimFileSystem();
  const a = await SessionEngine.open(opts(fs, clock, '/a'));
  await seed(a, 300, clock);
  const text = await exportText(a);
  const b = await SessionEngine.open(opts(fs, clock, '/b'));
  assert.equal((await run(b, text)).written, 300);
  const first = b.all().map((s) => ({ ...s }));
  clock.advance(5000);
  const again = await run(b, text);
  assert.deepEqual(again, { lines: 300, written: 0, unchanged: 300, newer: 0, expired: 0, destroyed: 0 });
  assert.deepEqual(b.all().map((s) => ({ ...s })), first, 'versions and LSNs unchanged too: nothing was written');
  // A file holding every line twice gives the same result as holding it once.
  const c = await SessionEngine.open(opts(fs, clock, '/c'));
  await run(c, text + text);
  assert.deepEqual(contents(c), contents(b));
  await Promise.all([a.close(), b.close(), c.close()]);
});

test('a session the store accessed later than the file is kept; an older store copy is replaced; a destroyed one stays destroyed; an expired line is skipped', async () => {
  const clock = new ManualClock(T0);
  const fs = new SimFileSystem();
  const e = await SessionEngine.open(opts(fs, clock));
  const line = (id: string, lastAccessAtMs: number, user: string, expiresAtMs = T0 + DAY): string =>
    exportLine({ id, createdAtMs: T0 - DAY, lastAccessAtMs, expiresAtMs, maxInactiveMs: 0, owner: 'old', attributes: { user: JSON.stringify(user) } });
  clock.set(T0 + 1000);
  await e.save('newer', { attributes: { user: '"store"' } }); // lastAccess T0+1000
  await e.save('older', { attributes: { user: '"store"' } });
  await e.save('gone', { attributes: { user: '"store"' } });
  await e.destroy('gone');
  const text = [
    line('newer', T0 + 999, 'file'),
    line('older', T0 + 1001, 'file'),
    line('gone', T0 + 5000, 'file'),
    line('expired', T0 - 10, 'file', T0 - 1),
    line('tie', T0 + 1000, 'first'),
    line('tie', T0 + 1000, 'second'),
    line('stale-dup', T0 + 2000, 'new'),
    line('stale-dup', T0 + 1500, 'old'),
  ].join('\n');
  const r = await run(e, text);
  assert.deepEqual(r, { lines: 8, written: 4, unchanged: 0, newer: 2, expired: 1, destroyed: 1 });
  assert.equal(e.get('newer')?.attrs.includes('"store"'), true, 'accessed later in the store: kept');
  assert.equal(e.get('older')?.attrs.includes('"file"'), true, 'older in the store: replaced');
  assert.equal(e.get('older')?.createdAtMs, T0 - DAY);
  assert.equal(e.get('older')?.owner, 'old');
  assert.equal(e.get('gone'), undefined, 'destroyed stays destroyed');
  assert.equal(e.get('expired'), undefined);
  assert.equal(e.get('tie')?.attrs.includes('"second"'), true, 'on a tie the later line wins');
  assert.equal(e.get('stale-dup')?.attrs.includes('"new"'), true, 'an older duplicate line does not undo a newer one');
  await e.close();
});

const GOOD = (id: string): string => exportLine({ id, createdAtMs: T0, lastAccessAtMs: T0, expiresAtMs: T0 + DAY, maxInactiveMs: 0, owner: undefined, attributes: { a: '1' } });

const MALFORMED: ReadonlyArray<[string, string, string]> = [
  ['bad JSON', '{"v":1,"id":"x",', 'json'],
  ['not an object', '[1,2]', 'json'],
  ['missing id', GOOD('x').replace('"id":"x",', ''), 'id'],
  ['empty id', GOOD('x').replace('"id":"x"', '"id":""'), 'id'],
  ['id over 512 bytes', GOOD('x').replace('"id":"x"', `"id":"${'é'.repeat(257)}"`), 'id'],
  ['id with a lone surrogate', GOOD('x').replace('"id":"x"', '"id":"a\\ud800"'), 'id'],
  ['date as a string', GOOD('x').replace(/"createdAtMs":\d+/, '"createdAtMs":"2026-01-01"'), 'createdAtMs'],
  ['negative date', GOOD('x').replace(/"expiresAtMs":\d+/, '"expiresAtMs":-5'), 'expiresAtMs'],
  ['fractional date', GOOD('x').replace(/"lastAccessAtMs":\d+/, '"lastAccessAtMs":1.5'), 'lastAccessAtMs'],
  ['date past 2^53', GOOD('x').replace(/"expiresAtMs":\d+/, '"expiresAtMs":9007199254740993'), 'expiresAtMs'],
  ['last access before creation', GOOD('x').replace(/"lastAccessAtMs":\d+/, `"lastAccessAtMs":${T0 - 1}`), 'lastAccessAtMs'],
  ['maxInactiveMs past u32', GOOD('x').replace(/"maxInactiveMs":\d+/, '"maxInactiveMs":4294967296'), 'maxInactiveMs'],
  ['attribute not a string', GOOD('x').replace('"a":"1"', '"a":1'), 'attributes.a'],
  ['attribute with a raw separator', GOOD('x').replace('"a":"1"', '"a":"1\\u0000"'), 'attributes.a'],
  ['unknown field', GOOD('x').replace('{"v":1,', '{"v":1,"expires":5,'), 'expires'],
  ['another version', GOOD('x').replace('{"v":1,', '{"v":2,'), 'v'],
  ['owner too long', GOOD('x').replace('"attributes"', `"owner":"${'o'.repeat(256)}","attributes"`), 'owner'],
  ['not UTF-8', '\u00ff', 'line'], // replaced by a raw 0xff byte below
];

for (const [what, bad, field] of MALFORMED) {
  test(`a malformed line (${what}) is refused with its line number and nothing is applied, not even the lines before it`, async () => {
    const clock = new ManualClock(T0);
    const fs = new SimFileSystem();
    const e = await SessionEngine.open(opts(fs, clock));
    const text = [GOOD('one'), '', GOOD('two'), bad, GOOD('three')].join('\n') + '\n';
    const bytes = what === 'not UTF-8' ? Buffer.from(text.replace('\u00ff', '\u0001'), 'utf8').map((b) => (b === 1 ? 0xff : b)) : Buffer.from(text);
    await assert.rejects(
      importSessions(e, { open: async function* () { yield bytes; } }),
      (err: unknown) => isSessiondError(err, 'SESSIOND_IMPORT_LINE_INVALID') && err.context.line === 4 && err.context.field === field && err.message.includes('line 4'),
    );
    await e.flush(); // anything an import had started would be visible now
    assert.equal(e.count(), 0, 'nothing applied');
    await e.close();
  });
}

test('an oversize line is refused by its number before it is buffered whole, and a session over sessionBytesMax likewise', async () => {
  const clock = new ManualClock(T0);
  const fs = new SimFileSystem();
  const e = await SessionEngine.open(opts(fs, clock, '/s', { sessionBytesMax: 4096 }));
  const max = lineBytesMaxFor(4096);
  let yielded = 0;
  // An endless line: the reader must give up after about lineBytesMax bytes.
  const endless = async function* (): AsyncGenerator<Uint8Array> {
    yield Buffer.from(GOOD('one') + '\n' + '{"v":1,"id":"');
    for (;;) {
      yielded += 1024;
      assert.ok(yielded < 4 * max, 'kept reading an oversize line');
      yield Buffer.alloc(1024, 0x61);
    }
  };
  await assert.rejects(importSessions(e, { open: endless }), (err: unknown) => isSessiondError(err, 'SESSIOND_IMPORT_LINE_INVALID') && err.context.line === 2 && err.context.field === 'line');
  const big = exportLine({ id: 'big', createdAtMs: T0, lastAccessAtMs: T0, expiresAtMs: 0, maxInactiveMs: 0, owner: undefined, attributes: { a: JSON.stringify('z'.repeat(5000)) } });
  assert.ok(Buffer.byteLength(big) < max);
  await assert.rejects(run(e, GOOD('one') + '\n' + big), (err: unknown) => isSessiondError(err, 'SESSIOND_IMPORT_LINE_INVALID') && err.context.line === 2 && /sessionBytesMax/.test(err.message));
  await e.flush();
  assert.equal(e.count(), 0);
  await e.close();
});

for (const durability of ['interval', 'none'] as const) {
  test(`with durability '${durability}' an import is durable once it resolves: a power loss right after keeps every session`, async () => {
    const clock = new ManualClock(T0);
    const fs = new SimFileSystem();
    const e = await SessionEngine.open(opts(fs, clock, '/d', { durability, fsyncIntervalMs: 60_000 }));
    const text = Array.from({ length: 200 }, (_, i) => GOOD(`dur-${i}`)).join('\n');
    assert.equal((await run(e, text)).written, 200);
    const after = await SessionEngine.open(opts(fs.crash(11, { mode: 'drop-all' }), clock, '/d'));
    assert.equal(after.count(), 200);
    await after.close();
  });
}

test('CRLF line ends, blank lines and a last line without a newline are read like the lines of an export', async () => {
  const clock = new ManualClock(T0);
  const e = await SessionEngine.open(opts(new SimFileSystem(), clock));
  const text = `${GOOD('crlf-1')}\r\n\r\n  \r\n${GOOD('crlf-2')}\r\n${GOOD('crlf-3')}`;
  // One byte at a time: a \r\n split across chunks too.
  const r = await importSessions(e, { open: source(text, 1) });
  assert.deepEqual(r, { lines: 3, written: 3, unchanged: 0, newer: 0, expired: 0, destroyed: 0 });
  assert.deepEqual(e.ids().sort(), ['crlf-1', 'crlf-2', 'crlf-3']);
  await assert.rejects(run(e, `${GOOD('crlf-4')}\r\n\r\n{"v":1}\r\n`), (err: unknown) => isSessiondError(err, 'SESSIOND_IMPORT_LINE_INVALID') && err.context.line === 3);
  await e.close();
});
