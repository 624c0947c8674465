// Helpers of the browser tests: Debian's Chromium, driven by playwright-core (which never
// downloads a browser), and the two steps every demo test takes on a page.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Headless, and nothing that reaches for the network (the machine has none). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * True (after a loud warning) when Chromium is missing outside CI: the test skips. Under
 * CI=true it is false, and the test's own `assert.ok(existsSync(CHROMIUM))` fails it.
 */
export function chromiumMissing(what: string): boolean {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.CI === 'true') return false;
  console.warn(`\n!!! ${CHROMIUM} is missing: SKIPPING the browser test of ${what} (apt-get install -y chromium) !!!\n`);
  return true;
}

/** Clicks a form button and waits for the page it leads to (POST, 303, GET /) to load. */
export async function submit(page: Page, button: string): Promise<void> {
  const navigated = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame() });
  await page.click(button);
  await navigated;
  await page.waitForLoadState('domcontentloaded');
}

/** The demo page shows this user and counter. */
export async function shows(page: Page, user: string, counter: number): Promise<void> {
  assert.equal(await page.textContent('#user'), user);
  assert.equal(await page.textContent('#counter'), String(counter));
}
