// Browser test of `npm run demo:cluster` (issue 9): headless Chromium logs in to the demo app
// (node cluster, 2 workers, connect-redis on `sessiond serve`), counts, the sessiond serve
// process is killed with SIGKILL and started again by the demo, and the page still shows the
// same user and counter, with pages served by both workers. Runs when /usr/bin/chromium
// exists; under CI=true its absence is a failure, elsewhere a loud skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startClusterDemo } from '../server/demo-cluster-process.js';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, chromiumMissing, shows, submit } from './chromium.js';

/** Bounds on retries (a page before the workers reconnect; contexts until both workers answered), not timing assertions. */
const TRIES_MAX = 40;

/** The pid in the page's "served by worker <pid>". */
async function workerOf(page: Page): Promise<string> {
  const m = /served by worker (\d+)/.exec((await page.textContent('#worker')) ?? '');
  assert.ok(m !== null, 'the page says which worker served it');
  return m[1]!;
}

/**
 * Opens the page in fresh browser contexts (each its own connection pool, so keep-alive
 * cannot pin them to one worker) with the session cookie, until both workers have answered;
 * every page must show the same user and counter. Before the workers have reconnected to a
 * restarted sessiond a page may be a 503: it is retried.
 */
async function seeBothWorkers(browser: Browser, url: string, cookies: Parameters<import('playwright-core').BrowserContext['addCookies']>[0], user: string, counter: number, seen: Set<string>): Promise<void> {
  const here = new Set<string>();
  for (let i = 0; i < TRIES_MAX && here.size < 2; i++) {
    const context = await browser.newContext();
    try {
      await context.addCookies(cookies);
      const page = await context.newPage();
      const res = await page.goto(url);
      if (res?.status() === 503) continue;
      assert.equal(res?.status(), 200);
      await shows(page, user, counter);
      here.add(await workerOf(page));
    } finally {
      await context.close();
    }
  }
  assert.equal(here.size, 2, `pages served by both workers (saw ${[...here].join(', ')})`);
  for (const w of here) seen.add(w);
}

test('demo:cluster in the browser: the same user and counter across a SIGKILL of sessiond serve, served by both workers', { skip: chromiumMissing('demo:cluster'), timeout: 180_000 }, async (t) => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is required under CI=true`);
  const demo = await startClusterDemo(t, 'demo-cluster-browser');
  const { url, waitFor } = demo;
  const firstPid = demo.firstSessiondPid;

  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  t.after(() => browser.close());
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await page.fill('#username', 'carol');
  await submit(page, '#login');
  await shows(page, 'carol', 0);
  for (let i = 1; i <= 3; i++) {
    await submit(page, '#increment');
    await shows(page, 'carol', i);
  }
  const cookies = await context.cookies();
  const seen = new Set<string>([await workerOf(page)]);
  await seeBothWorkers(browser, url, cookies, 'carol', 3, seen);

  const mark = demo.output().length;
  process.kill(firstPid, 'SIGKILL');
  await waitFor(/sessiond serve exited \(SIGKILL\); starting it again/, mark);
  await waitFor(/sessiond serving .* on 127\.0\.0\.1:\d+/, mark);

  // The same page, reloaded until its worker has reconnected.
  for (let i = 0; i < TRIES_MAX; i++) {
    const res = await page.reload();
    if (res?.status() !== 503) break;
  }
  await shows(page, 'carol', 3);
  await seeBothWorkers(browser, url, cookies, 'carol', 3, seen);
  await submit(page, '#increment');
  await shows(page, 'carol', 4);
  assert.equal(seen.size, 2, 'pages were served by both workers');

  const shot = join(tmpdir(), 'sessiond-demo-cluster.png');
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`# screenshot of the demo:cluster page: ${shot}`);

  assert.equal(await demo.stop(), 0, 'SIGTERM stops the demo cleanly');
});
