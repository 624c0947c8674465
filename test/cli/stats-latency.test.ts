/**
 * `sessiond stats` shows the latency histograms: of a fresh open, and of a running store
 * through its admin port (kind: integration, real files, the CLI as a child process).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { startAdminServer } from '../../src/admin/admin-server.js';
import { OPERATION_KINDS } from '../../src/engine/operation-latency.js';
import type { EngineStats } from '../../src/engine/engine-stats.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const ID = 'AAAAAAAAAAAAAAAAAAAAAAAA';

/** Runs the CLI without blocking this process's event loop (the admin server answers it). */
function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => p.once('close', (code) => resolve({ code: code ?? -1, out, err })));
}

test('sessiond stats --admin-url prints the latency table of a running store, and --json its histograms', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sessiond-cli-admin-'));
  const e = await SessionEngine.open({ dir, flushIntervalMs: 3_600_000 });
  const admin = await startAdminServer({ engine: e, port: 0 });
  try {
    for (let i = 0; i < 7; i++) await e.save(`${ID}${i}`, { attributes: { i: String(i) } });
    await e.touch(`${ID}0`);
    await e.destroy(`${ID}1`);
    const human = await cli('stats', '--admin-url', admin.url);
    assert.equal(human.code, 0, human.err);
    assert.match(human.out, /^latency ms\s+count\s+p50\s+p90\s+p99\s+max$/m);
    for (const k of OPERATION_KINDS) assert.match(human.out, new RegExp(`^  ${k}\\s+\\d+(\\s+\\d+\\.\\d{3}){4}$`, 'm'), k);
    assert.match(human.out, /^ {2}save\s+7\s/m);
    assert.match(human.out, /^ {2}touch\s+1\s/m);
    assert.match(human.out, /^ {2}destroy\s+1\s/m);
    assert.match(human.out, /^sessions\s+6 /m);
    const js = JSON.parse((await cli('stats', '--admin-url', admin.url, '--json')).out) as EngineStats;
    assert.equal(js.latencyMs.save.count, 7);
    assert.equal(js.latencyMs.fsync.count, 9);
    assert.ok(js.latencyMs.save.p50 <= js.latencyMs.save.p99 && js.latencyMs.save.p99 <= js.latencyMs.save.max);
  } finally {
    await admin.close();
    await e.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sessiond stats <dir> shows the latency table too; a dead --admin-url is a clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sessiond-cli-admin-'));
  try {
    const e = await SessionEngine.open({ dir });
    await e.save(ID, { attributes: { a: '1' } });
    await e.close();
    const r = await cli('stats', dir);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^latency ms/m);
    assert.match(r.out, /^ {2}fsync\s+\d+/m);
    const dead = await cli('stats', '--admin-url', 'http://127.0.0.1:1/');
    assert.equal(dead.code, 1);
    assert.match(dead.err, /SESSIOND_INVALID_ARGUMENT: .*--admin-url: http:\/\/127\.0\.0\.1:1 did not answer/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
