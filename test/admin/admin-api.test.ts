/**
 * The admin page's JSON endpoints, its assets and its guard rails: metadata-only look-up,
 * no attribute value in any response, no session ID in any log line, loopback by default,
 * options refused by name (kind: integration over loopback HTTP, simulated file layer).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { startAdminServer, type AdminServer } from '../../src/admin/admin-server.js';
import { HANG_GUARD_MS, withAdmin } from './admin-fixtures.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { isSessiondError } from '../../src/errors.js';
import type { Logger } from '../../src/options.js';

const ID = 'AAAAAAAAAAAAAAAAAAAAAAAA';
const MARKER = 'MARKER-7f3a9c-never-in-admin';

class RecordingLogger implements Logger {
  readonly lines: string[] = [];
  info(event: string, fields?: Record<string, unknown>): void {
    this.lines.push(JSON.stringify({ event, ...fields }));
  }
  warn(event: string, fields?: Record<string, unknown>): void {
    this.info(event, fields);
  }
  error(event: string, fields?: Record<string, unknown>): void {
    this.info(event, fields);
  }
}

async function open(clock = new ManualClock(), logger: Logger = new RecordingLogger()): Promise<SessionEngine> {
  return SessionEngine.open({ dir: '/s', fs: new SimFileSystem(), clock, logger, owner: 'web-7', flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000 });
}

async function get(admin: AdminServer, path: string): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(new URL(path, admin.url));
  return { status: res.status, body: await res.text(), headers: res.headers };
}

test('/api/session shows created, last access, expiry, size and owner of one session, and not-found for unknown or malformed IDs', { timeout: HANG_GUARD_MS }, async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const e = await open(clock);
  await withAdmin(e, {}, async (admin) => {
    await e.save(ID, { attributes: { user: JSON.stringify('ada') }, maxInactiveMs: 60_000 });
    clock.advance(5_000);
    await e.touch(ID);
    const r = await get(admin, `/api/session?id=${ID}`);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), {
      found: true,
      createdAtMs: 1_700_000_000_000,
      lastAccessAtMs: 1_700_000_005_000,
      expiresAtMs: 1_700_000_065_000,
      maxInactiveMs: 60_000,
      sizeBytes: e.get(ID)!.attrs.length,
      owner: 'web-7',
      version: 2,
    });
    for (const q of ['?id=BBBBBBBBBBBBBBBBBBBBBBBB', '?id=%00%3Cscript%3E', '?id=', '']) {
      assert.deepEqual(JSON.parse((await get(admin, `/api/session${q}`)).body), { found: false }, q);
    }
  });
});

test('no admin response ever carries an attribute value, and no log line a session ID', { timeout: HANG_GUARD_MS }, async () => {
  const logger = new RecordingLogger();
  const e = await open(new ManualClock(), logger);
  await withAdmin(e, { sampleIntervalMs: 10, logger }, async (admin) => {
    await e.save(ID, { attributes: { secret: JSON.stringify(MARKER), [MARKER]: '1' } });
    await e.patch(ID, { set: { other: JSON.stringify(`${MARKER}-2`) } });
    const paths = ['/', '/assets/admin.js', '/assets/admin.css', '/metrics', '/api/stats', '/api/series', `/api/session?id=${ID}`, '/nope', '/assets/uPlot.min.css'];
    for (const p of paths) {
      const r = await get(admin, p);
      assert.ok(!r.body.includes(MARKER), `${p} carries no attribute value or name`);
      if (p !== `/api/session?id=${ID}`) assert.ok(!r.body.includes(ID), `${p} carries no session ID`);
    }
    assert.equal(JSON.parse((await get(admin, `/api/session?id=${ID}`)).body).found, true);
    assert.ok(!(await get(admin, `/api/session?id=${ID}`)).body.includes(ID), 'the look-up does not echo the ID');
    // A request that fails is logged by its path: the query string holds the ID.
    // The look-up reads through engine.read (a session under cacheBytesMax may be on disk only).
    const realRead = e.read.bind(e);
    e.read = () => Promise.reject(new Error('lookup failed'));
    assert.equal((await get(admin, `/api/session?id=${ID}`)).status, 500);
    e.read = realRead;
    const log = logger.lines.join('\n');
    assert.match(log, /admin_request_failed.*"path":"\/api\/session"/);
    assert.match(log, /admin_listening/);
    assert.ok(!log.includes(ID) && !log.includes(MARKER), 'no session ID or value in the logs');
  });
});

test('/api/stats reports the engine statistics, the store files with their sizes and the sample interval', { timeout: HANG_GUARD_MS }, async () => {
  const e = await open();
  await withAdmin(e, { sampleIntervalMs: 250 }, async (admin) => {
    await e.save(ID, { attributes: { a: '1' } });
    await e.flush();
    const r = JSON.parse((await get(admin, '/api/stats')).body) as {
      dir: string;
      sampleIntervalMs: number;
      engine: { sessions: { count: number }; latencyMs: { save: { count: number } } };
      files: Array<{ name: string; bytes: number }>;
    };
    assert.equal(r.dir, '/s');
    assert.equal(r.sampleIntervalMs, 250);
    assert.equal(r.engine.sessions.count, 1);
    assert.equal(r.engine.latencyMs.save.count, 1);
    const names = r.files.map((f) => f.name);
    for (const f of ['log-0', 'log-1', 'sessions.db']) assert.ok(names.includes(f), `${f} listed in ${names.join(', ')}`);
    assert.deepEqual(names, [...names].sort());
    for (const f of r.files) assert.ok(Number.isSafeInteger(f.bytes) && f.bytes >= 0);
  });
});

test('the page and uPlot come from the admin server itself, under a same-origin Content-Security-Policy', { timeout: HANG_GUARD_MS }, async () => {
  const e = await open();
  await withAdmin(e, {}, async (admin) => {
    const page = await get(admin, '/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.ok(!/https?:\/\//.test(page.body), 'no external URL on the page');
    for (const src of page.body.matchAll(/(?:src|href)="([^"]+)"/g)) {
      const a = await get(admin, src[1]!);
      assert.equal(a.status, 200, src[1]);
      assert.ok(a.body.length > 0);
    }
    assert.match((await get(admin, '/assets/uPlot.iife.min.js')).body, /uPlot/);
    assert.equal((await get(admin, '/nope')).status, 404);
    const post = await fetch(new URL('/metrics', admin.url), { method: 'POST' });
    assert.equal(post.status, 405);
    await post.text();
  });
});

test('binds loopback unless a host is given, and refuses unknown or invalid options by name', { timeout: HANG_GUARD_MS }, async () => {
  const e = await open();
  const admin = await startAdminServer({ engine: e, port: 0 });
  try {
    assert.match(admin.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const refused = async (input: object, option: string): Promise<void> => {
      await assert.rejects(
        startAdminServer({ engine: e, port: 0, ...input } as Parameters<typeof startAdminServer>[0]),
        (err: unknown) => isSessiondError(err, 'SESSIOND_INVALID_OPTION') && err.context.option === option,
        option,
      );
    };
    await refused({ prot: 1 }, 'prot');
    await refused({ port: 70_000 }, 'port');
    await refused({ host: '' }, 'host');
    await refused({ sampleIntervalMs: 1 }, 'sampleIntervalMs');
    await refused({ seriesPointsMax: 1 }, 'seriesPointsMax');
    await refused({ extraMetrics: {} }, 'extraMetrics');
    await refused({ engine: {} }, 'engine');
  } finally {
    await admin.close();
    await admin.close(); // idempotent
    await e.close();
  }
});
