// Browser test of the demo (SPEC A4): headless Chromium logs in, increments, the server is
// killed with SIGKILL and started again on the same data directory, and the page still shows
// the same user and counter. Runs when /usr/bin/chromium exists; under CI=true its absence
// is a failure, elsewhere a loud skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, chromiumMissing, shows, submit } from './chromium.js';

const SERVER = fileURLToPath(new URL('../../demo/server.js', import.meta.url));
const LISTENING = /sessiond demo listening on (http:\/\/127\.0\.0\.1:(\d+))/;
/** A guard against a server that never starts, not a timing assertion. */
const START_GUARD_MS = 30_000;

interface Demo {
  proc: ChildProcess;
  url: string;
  port: number;
  exited: Promise<void>;
}

/** Starts dist/demo/server.js and resolves once it prints its URL. */
function startDemo(dataDir: string, port: number): Promise<Demo> {
  const proc = spawn(process.execPath, [SERVER], {
    env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, SESSION_SECRET: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let out = '';
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`the demo did not start:\n${out}`)), START_GUARD_MS);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = LISTENING.exec(out);
      if (m === null) return;
      clearTimeout(guard);
      resolve({ proc, url: m[1]!, port: Number(m[2]), exited });
    });
    proc.once('exit', (code) => reject(new Error(`the demo exited with ${code}:\n${out}`)));
  });
}

async function killHard(demo: Demo): Promise<void> {
  demo.proc.kill('SIGKILL');
  await demo.exited; // reaped: its pid no longer holds the store's lock
}

test('the demo keeps the browser logged in, with its counter, across a SIGKILL and a restart', { skip: chromiumMissing('the demo'), timeout: 180_000 }, async (t) => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is required under CI=true`);
  const dataDir = mkdtempSync(join(tmpdir(), 'sessiond-demo-data-'));
  const profileDir = mkdtempSync(join(tmpdir(), 'sessiond-demo-chromium-'));
  let demo = await startDemo(dataDir, 0);
  const browser = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  t.after(async () => {
    await browser.close();
    demo.proc.kill('SIGKILL');
    await demo.exited;
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profileDir, { recursive: true, force: true });
  });
  const page = browser.pages()[0] ?? (await browser.newPage());

  await page.goto(demo.url);
  await page.fill('#username', 'alice');
  await submit(page, '#login');
  await shows(page, 'alice', 0);
  for (let i = 1; i <= 3; i++) {
    await submit(page, '#increment');
    await shows(page, 'alice', i);
  }

  await killHard(demo);
  demo = await startDemo(dataDir, demo.port); // same port: the page reloads where it was
  await page.reload();
  await shows(page, 'alice', 3);
  await submit(page, '#increment');
  await shows(page, 'alice', 4);
  const state = await page.evaluate(async () => (await fetch('/api/state')).json());
  assert.deepEqual(state, { user: 'alice', counter: 4 });

  await submit(page, '#logout');
  assert.equal(await page.locator('#username').count(), 1, 'logged out: the login form is back');
});
