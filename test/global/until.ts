import assert from 'node:assert/strict';

/** Test support (the outage tests): waits on real time. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `f` every 25 ms until it holds; fails naming `what` after `tries`. */
export async function until(what: string, f: () => Promise<boolean> | boolean, tries = 400): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await f()) return;
    await sleep(25);
  }
  assert.fail(`never happened: ${what}`);
}
