/**
 * `sessiond export` and `sessiond import` (kind: integration, real files, real child
 * processes, a real `sessiond serve` for the live store). docs/operations.md "Export and import".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { startAdminServer } from '../../src/admin/admin-server.js';
import { Progress, PROGRESS_CHECK_EVERY, PROGRESS_INTERVAL_MS } from '../../src/cli/progress.js';
import { CLI, run, spawnServer } from '../server/server-process.js';

const HANG_GUARD = { timeout: 120_000 };

function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(process.execPath, [CLI, ...args]);
}

async function seed(dir: string, n: number): Promise<void> {
  const e = await SessionEngine.open({ dir, owner: 'cli-export' });
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      e.save(`cli-${i}`, { attributes: { user: JSON.stringify(`u${i}`), cookie: '{"path":"/","expires":"\u0002"}' }, maxInactiveMs: i % 2 === 0 ? 0 : 600_000 }),
    ),
  );
  await e.close();
}

const sorted = (text: string): string[] => text.split('\n').filter((l) => l !== '').sort();

async function storeLines(dir: string): Promise<string[]> {
  const r = await cli('export', dir);
  assert.equal(r.code, 0, r.stderr);
  return sorted(r.stdout);
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'export-cli-'));
}

test('a stopped store: export to a file and to stdout, import into another store, and both stores export the same lines', HANG_GUARD, async () => {
  const root = tmp();
  try {
    const a = join(root, 'a');
    const b = join(root, 'b');
    const file = join(root, 'out.jsonl');
    await seed(a, 500);
    const ex = await cli('export', a, '--out', file);
    assert.equal(ex.code, 0, ex.stderr);
    assert.equal(ex.stdout, '', 'with --out nothing goes to stdout');
    assert.equal(ex.stderr, `sessiond export: 500 sessions written to ${file}\n`, 'no progress: stderr is not a terminal');
    const withProgress = await cli('export', a, '--out', file, '--progress');
    assert.match(withProgress.stderr, /^sessiond export: 256 sessions\n/, 'the first check prints');
    assert.deepEqual(readdirSync(root).sort(), ['a', 'out.jsonl'], 'no .partial file left behind');
    const lines = sorted(readFileSync(file, 'utf8'));
    assert.equal(lines.length, 500);
    assert.deepEqual(await storeLines(a), lines, 'stdout holds the same lines');
    const im = await cli('import', b, file, '--progress');
    assert.equal(im.code, 0, im.stderr);
    assert.match(im.stderr, /sessiond import: checked 256 lines\n(.*\n)*sessiond import: applied \d+ lines\n/);
    assert.match(im.stdout, /imported 500 lines: 500 written, 0 already there/);
    assert.deepEqual(await storeLines(b), lines);
    const again = await cli('import', b, file, '--json');
    assert.deepEqual(JSON.parse(again.stdout), { lines: 500, written: 0, unchanged: 500, newer: 0, expired: 0, destroyed: 0 });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a malformed line makes the CLI exit 1 with the code and the line number, and the store is left as it was', HANG_GUARD, async () => {
  const root = tmp();
  try {
    const a = join(root, 'a');
    await seed(a, 10);
    const before = await storeLines(a);
    const file = join(root, 'bad.jsonl');
    const good = before[0]!.replace('"cli-0"', '"new-one"');
    writeFileSync(file, `${good}\n${good.replace('"new-one"', '"new-two"')}\n{"v":1,"id":"x","createdAtMs":"yesterday"}\n`);
    const r = await cli('import', a, file);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /SESSIOND_IMPORT_LINE_INVALID: .*line 3: createdAtMs/);
    assert.deepEqual(await storeLines(a), before);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a live store: the CLI refuses the held directory and points at --admin-url; through the admin port export and import work while it serves', HANG_GUARD, async () => {
  const root = tmp();
  const live = join(root, 'live');
  const server = await spawnServer(live, ['--port', '0', '--admin-port', '0']);
  try {
    let adminUrl: string | undefined;
    // Printed on stderr just after the serving line: wait for it.
    for (let i = 0; i < 200 && adminUrl === undefined; i++) {
      adminUrl = /admin page and \/metrics on (http:\/\/\S+)/.exec(server.output())?.[1];
      if (adminUrl === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(adminUrl !== undefined, server.output());
    const src = join(root, 'src');
    await seed(src, 300);
    const file = join(root, 'x.jsonl');
    assert.equal((await cli('export', src, '--out', file)).code, 0);
    const lines = sorted(readFileSync(file, 'utf8'));

    const held = await cli('import', live, file);
    assert.equal(held.code, 1);
    assert.match(held.stderr, /SESSIOND_LOCKED: .*held by process \d+.*sessiond import --admin-url http:\/\/127\.0\.0\.1:9464/);
    const heldExport = await cli('export', live);
    assert.match(heldExport.stderr, /sessiond export --admin-url/);

    const im = await cli('import', '--admin-url', adminUrl, file, '--json');
    assert.equal(im.code, 0, im.stderr);
    assert.deepEqual(JSON.parse(im.stdout), { lines: 300, written: 300, unchanged: 0, newer: 0, expired: 0, destroyed: 0 });
    const out = join(root, 'y.jsonl');
    const ex = await cli('export', '--admin-url', adminUrl, '--out', out);
    assert.equal(ex.code, 0, ex.stderr);
    assert.match(ex.stderr, /300 sessions/);
    assert.deepEqual(sorted(readFileSync(out, 'utf8')), lines);

    const bad = join(root, 'bad.jsonl');
    writeFileSync(bad, `${lines[0]!.replace('"cli-0"', '"fresh"')}\nnot json\n`);
    const refused = await cli('import', '--admin-url', adminUrl, bad);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /SESSIOND_IMPORT_LINE_INVALID: .*line 2: json/);

    // Durable in the server's store: after it stops, the directory holds what it acknowledged.
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    assert.deepEqual(await storeLines(live), lines, 'the import, and not the refused file');
  } finally {
    server.child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  }
});

function http(port: number, method: string, path: string, headers: Record<string, string>, body = ''): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('the admin export and import answer only on a loopback admin port, to a loopback Host, and the import only with content-type application/x-ndjson', HANG_GUARD, async () => {
  const root = tmp();
  const engine = await SessionEngine.open({ dir: join(root, 's') });
  await engine.save('guarded', { attributes: { secret: '"marker-7f3a"' } });
  const loop = await startAdminServer({ engine, port: 0 });
  const wide = await startAdminServer({ engine, port: 0, host: '0.0.0.0' });
  try {
    const line = (await http(loop.port, 'GET', '/admin/export', {})).body;
    assert.match(line, /marker-7f3a/);
    for (const host of ['evil.example', 'evil.example:80', '10.0.0.1']) {
      const r = await http(loop.port, 'GET', '/admin/export', { host });
      assert.equal(r.status, 403, host);
      assert.ok(!r.body.includes('marker'));
    }
    assert.equal((await http(loop.port, 'GET', '/admin/export', { host: `localhost:${loop.port}` })).status, 200);
    const viaWide = await http(wide.port, 'GET', '/admin/export', {});
    assert.equal(viaWide.status, 403);
    assert.ok(!viaWide.body.includes('marker'));
    const imported = line.replace('"guarded"', '"planted"');
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']) {
      assert.equal((await http(loop.port, 'POST', '/admin/import', { 'content-type': type }, imported)).status, 415, type);
    }
    assert.equal((await http(loop.port, 'POST', '/admin/export', {})).status, 405);
    assert.equal((await http(loop.port, 'GET', '/admin/import', {})).status, 405);
    assert.equal(engine.get('planted'), undefined);
    const spools = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith('sessiond-import-'));
    const spoolsBefore = spools();
    const ok = await http(loop.port, 'POST', '/admin/import', { 'content-type': 'application/x-ndjson' }, imported);
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(JSON.parse(ok.body), { lines: 1, written: 1, unchanged: 0, newer: 0, expired: 0, destroyed: 0 });
    assert.deepEqual(spools(), spoolsBefore, 'the spooled body is deleted');
    const bad = await http(loop.port, 'POST', '/admin/import', { 'content-type': 'application/x-ndjson; charset=utf-8' }, `${imported}\n{"v":1}\n`);
    assert.equal(bad.status, 400);
    // `imported` ends with its newline, so line 2 is empty (skipped, but counted) and the bad one is line 3.
    assert.deepEqual(JSON.parse(bad.body).context, { line: 3, field: 'id' });
    assert.deepEqual(spools(), spoolsBefore, 'also after a refused import');
    assert.equal(engine.get('planted')?.attrs.includes('marker-7f3a'), true);
  } finally {
    await loop.close();
    await wide.close();
    await engine.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test('progress: nothing unless enabled; then at most one line per interval, counted from the injected clock', () => {
  let now = 0;
  const offLines: string[] = [];
  const off = new Progress(false, (l) => offLines.push(l), () => now);
  for (let i = 0; i < 10 * PROGRESS_CHECK_EVERY; i++, now += 10) off.tick(() => 'off');
  assert.deepEqual(offLines, []);
  now = 0;
  const lines: string[] = [];
  const on = new Progress(true, (l) => lines.push(l), () => now);
  let n = 0;
  // 1 ms per tick over 4 intervals' worth of ticks: about 4 lines, never one per tick.
  const ticks = 4 * PROGRESS_INTERVAL_MS + PROGRESS_CHECK_EVERY;
  for (let i = 0; i < ticks; i++, now += 1) on.tick(() => `n=${++n}`);
  assert.ok(lines.length >= 3 && lines.length <= 5, `${lines.length} lines`);
  assert.equal(lines[0], 'n=1', 'describe() runs only for a printed line');
});

test('a live export is a snapshot: sessions destroyed and created while it streams do not change what it sends', HANG_GUARD, async () => {
  const root = tmp();
  const engine = await SessionEngine.open({ dir: join(root, 's') });
  const admin = await startAdminServer({ engine, port: 0 });
  try {
    const n = 20_000;
    await Promise.all(Array.from({ length: n }, (_, i) => engine.save(`snap-${i}`, { attributes: { pad: JSON.stringify('p'.repeat(200)), i: String(i) } })));
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: admin.port, path: '/admin/export' }, (res) => {
        // Not reading yet: backpressure holds the server mid-export while the store changes.
        res.pause();
        void (async () => {
          await Promise.all(Array.from({ length: 1000 }, (_, i) => engine.destroy(`snap-${i}`)));
          await Promise.all(Array.from({ length: 1000 }, (_, i) => engine.save(`late-${i}`, { attributes: { i: '"late"' } })));
          await engine.save('snap-19999', { attributes: { i: '"changed"' } });
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve(text));
          res.resume();
        })().catch(reject);
      });
      req.on('error', reject);
      req.end();
    });
    const ids = body.trimEnd().split('\n').map((l) => (JSON.parse(l) as { id: string }).id);
    assert.equal(ids.length, n);
    assert.deepEqual(new Set(ids), new Set(Array.from({ length: n }, (_, i) => `snap-${i}`)));
    assert.ok(body.includes('"i":"19999"') && !body.includes('changed'), 'each session as it was when the export began');
    assert.equal(engine.count(), n, 'the store did change meanwhile');
  } finally {
    await admin.close();
    await engine.close();
    rmSync(root, { recursive: true, force: true });
  }
});
