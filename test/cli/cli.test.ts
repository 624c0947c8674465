/** `sessiond` command line (kind: integration, real files, real child processes). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SessionEngine } from '../../src/engine/session-engine.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function cli(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** A store whose log still holds its records (killed before any flush: no clean close). */
async function storeWithLog(dir: string): Promise<void> {
  const e = await SessionEngine.open({ dir, flushIntervalMs: 3_600_000, owner: 'cli-test' });
  for (let i = 0; i < 20; i++) await e.save(`clitest${String(i).padStart(16, '0')}`, { attributes: { i: String(i), pad: JSON.stringify('z'.repeat(300)) } });
  // Leave without close(): the records stay in the log, as after a crash. Release the
  // in-process lock by pretending to be a dead owner is not possible, so copy the files.
  const copy = dir + '-copy';
  spawnSync('cp', ['-a', dir, copy]);
  await e.close();
  rmSync(dir, { recursive: true });
  spawnSync('mv', [copy, dir]);
  writeFileSync(join(dir, 'LOCK'), '');
}

test('verify reports a healthy store, then names the offset of damaged acknowledged bytes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sessiond-cli-'));
  try {
    await storeWithLog(dir);
    const ok = cli('verify', dir);
    assert.equal(ok.code, 0, ok.out + ok.err);
    assert.match(ok.out, /ok: no corruption found/);
    const log = join(dir, 'log-0');
    const bytes = readFileSync(log);
    assert.ok(bytes.length > 4000, `log-0 should hold the records, has ${bytes.length} bytes`);
    bytes[1500] = bytes[1500]! ^ 0xff; // inside an early record, vouched for by later ones
    writeFileSync(log, bytes);
    const bad = cli('verify', dir);
    assert.equal(bad.code, 1, bad.out + bad.err);
    assert.match(bad.out, /PROBLEM damaged bytes at \d+/);
    const json = JSON.parse(cli('verify', dir, '--json').out) as { ok: boolean };
    assert.equal(json.ok, false);
    // verify changed nothing
    assert.deepEqual(readFileSync(log), bytes);
    // and the store refuses to open without salvage
    await assert.rejects(SessionEngine.open({ dir }), (e: Error & { code?: string }) => e.code === 'SESSIOND_LOG_CORRUPT');
    const salvaged = await SessionEngine.open({ dir, salvage: true });
    assert.ok(salvaged.recovery.corruption.length > 0);
    await salvaged.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stats, recover and compact open the store and print what they did', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sessiond-cli-'));
  try {
    await storeWithLog(dir);
    const rec = cli('recover', dir);
    assert.equal(rec.code, 0, rec.err);
    assert.match(rec.out, /recovered 20 sessions: 20 records replayed/);
    const st = cli('stats', dir);
    assert.equal(st.code, 0, st.err);
    assert.match(st.out, /sessions\s+20 /);
    assert.match(st.out, /by owner\s+cli-test 20/);
    const js = JSON.parse(cli('stats', dir, '--json').out) as { sessions: { count: number } };
    assert.equal(js.sessions.count, 20);
    const c = cli('compact', dir);
    assert.equal(c.code, 0, c.err);
    assert.match(c.out, /compacted: \d+ → \d+ bytes/);
    assert.equal(statSync(join(dir, 'sessions.db')).mode & 0o777, 0o600);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('usage errors exit 2 and name the problem', () => {
  assert.equal(cli().code, 2);
  const r = cli('frobnicate', '/tmp/x');
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown command "frobnicate"/);
  assert.match(cli('verify').err, /missing <dir>/);
  assert.equal(cli('--help').code, 0);
});
