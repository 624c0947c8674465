// Browser test of the admin page (SPEC S3): headless Chromium loads the page from an admin
// server started in this process, the charts draw data that moves while a load runs, and
// the session look-up shows metadata. A screenshot is kept as an artifact (path printed).
// Runs when /usr/bin/chromium exists; under CI=true its absence is a failure, elsewhere a
// loud skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, chromiumMissing } from './chromium.js';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { startAdminServer } from '../../src/admin/admin-server.js';

/** Short, so a few seconds of load make several chart points. */
const SAMPLE_INTERVAL_MS = 100;
/** Guards against a page that never updates, not timing assertions. */
const WAIT_GUARD_MS = 30_000;
const OWNER = 'admin-browser-test';

// The code below that runs in the page is a string, or a function typed by this minimal
// declaration: this project compiles without the DOM types. waitForFunction takes functions
// only, since a string predicate would need eval, which the page's CSP forbids.
declare const document: { body: { dataset: Record<string, string | undefined> } };

/** Pixels of a chart's canvas close to `rgb` (its series' stroke colour). */
function strokePixels(page: Page, chartId: string, rgb: [number, number, number]): Promise<number> {
  return page.evaluate(`(() => {
    const canvas = document.querySelector('#${chartId} canvas');
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const rgb = ${JSON.stringify(rgb)};
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 200 && Math.abs(data[i] - rgb[0]) < 40 && Math.abs(data[i + 1] - rgb[1]) < 40 && Math.abs(data[i + 2] - rgb[2]) < 40) n++;
    }
    return n;
  })()`);
}

const canvasImage = (page: Page, chartId: string): Promise<string> => page.evaluate(`document.querySelector('#${chartId} canvas').toDataURL()`);
const chartPoints = async (page: Page): Promise<number> => Number(await page.evaluate('document.body.dataset.points ?? 0'));

test('the admin page loads, its charts draw data that moves under load, and the look-up shows metadata only', { skip: chromiumMissing('the admin page'), timeout: 180_000 }, async (t) => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is required under CI=true`);
  const dataDir = mkdtempSync(join(tmpdir(), 'sessiond-admin-data-'));
  const profileDir = mkdtempSync(join(tmpdir(), 'sessiond-admin-chromium-'));
  const engine = await SessionEngine.open({ dir: dataDir, owner: OWNER });
  const admin = await startAdminServer({ engine, port: 0, sampleIntervalMs: SAMPLE_INTERVAL_MS });
  const browser = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 1000 } });
  let loading = true;
  t.after(async () => {
    loading = false;
    await browser.close();
    await admin.close();
    await engine.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profileDir, { recursive: true, force: true });
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  page.on('requestfailed', (r) => failures.push(`${r.url()}: ${r.failure()?.errorText}`));

  // A load of 16 writers saving, reading and touching their sessions until the test ends.
  const ids: string[] = [];
  const load = Array.from({ length: 16 }, async (_, w) => {
    const id = (await engine.create({ attributes: { writer: String(w) } })).id;
    ids.push(id);
    for (let n = 0; loading; n++) {
      await engine.save(id, { attributes: { writer: String(w), n: String(n) } }).catch(() => undefined);
      engine.get(id);
    }
  });

  await page.goto(admin.url);
  assert.equal(await page.title(), 'sessiond admin');
  await page.waitForFunction(() => Number(document.body.dataset.points ?? 0) >= 3, undefined, { timeout: WAIT_GUARD_MS });
  const opsBefore = await canvasImage(page, 'chart-ops');
  const pointsBefore = await chartPoints(page);
  await page.waitForFunction((n) => Number(document.body.dataset.points ?? 0) >= n, pointsBefore + 5, { timeout: WAIT_GUARD_MS });
  assert.notEqual(await canvasImage(page, 'chart-ops'), opsBefore, 'the operations chart moved');
  assert.ok((await strokePixels(page, 'chart-ops', [22, 160, 133])) > 50, 'the operations line is drawn');
  assert.ok((await strokePixels(page, 'chart-sessions', [47, 111, 219])) > 50, 'the sessions line is drawn');
  assert.ok((await strokePixels(page, 'chart-fsync', [230, 126, 34])) > 20, 'the fsync p99 line is drawn');
  assert.equal(await page.textContent('#card-sessions'), '16');
  // The card shows the last point's rate: on a loaded machine one 100 ms window may see no
  // save complete (an fsync stall), so the test waits for a point that does.
  const opsShown = await page
    .waitForFunction("Number((document.getElementById('card-ops').textContent || '').replace(/,/g, '')) > 0", undefined, { timeout: WAIT_GUARD_MS })
    .then(() => true, () => false);
  assert.ok(opsShown, 'operations per second shown');
  assert.match((await page.textContent('#files'))!, /sessions\.db/);
  assert.match((await page.textContent('#recovery'))!, /records replayed/);
  assert.match((await page.textContent('#latency'))!, /fsync/);

  await page.fill('#lookup-id', ids[3]!);
  await page.click('#lookup button');
  await page.waitForSelector('#lookup-result:not([hidden])', { timeout: WAIT_GUARD_MS });
  const shown = (await page.textContent('#lookup-result'))!;
  assert.match(shown, new RegExp(OWNER));
  assert.match(shown, /created.*last access.*expires.*size.*owner/s);
  assert.ok(!shown.includes('writer'), 'no attribute name or value');

  await page.fill('#lookup-id', 'no-such-session-anywhere');
  await page.click('#lookup button');
  await page.waitForSelector('#lookup-missing:not([hidden])', { timeout: WAIT_GUARD_MS });
  await page.fill('#lookup-id', ids[3]!);
  await page.click('#lookup button');
  await page.waitForSelector('#lookup-result:not([hidden])', { timeout: WAIT_GUARD_MS });

  const shot = join(tmpdir(), 'sessiond-admin-page.png'); // one file, overwritten by each run (a name per pid piled up on CI)
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`admin page screenshot: ${shot}`);
  assert.deepEqual(failures, [], 'no script error, no failed request');
  loading = false;
  await Promise.all(load);
});
