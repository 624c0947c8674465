// The idle detector of the server bench (bench/lib/settle.ts), driven by an injected CPU
// reader and clock: no real process, no timing assertions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitUntilIdle } from '../../bench/lib/settle.js';

/** A fake process whose CPU grows by `perWindow[i]` ms during window i, and a fake clock. */
function fake(perWindow: number[], windowMs = 300): { cpuMs: () => number; now: () => number; sleep: (ms: number) => Promise<void>; windows: () => number } {
  let t = 0;
  let cpu = 0;
  let i = 0;
  return {
    cpuMs: () => cpu,
    now: () => t,
    sleep: async (ms) => {
      t += ms;
      cpu += perWindow[i] ?? perWindow[perWindow.length - 1]!;
      i++;
      assert.equal(ms, windowMs);
    },
    windows: () => i,
  };
}

describe('waitUntilIdle', () => {
  it('returns after the first window whose CPU grew by less than 2% of it, with the CPU spent settling', async () => {
    const f = fake([300, 150, 10, 0]);
    const r = await waitUntilIdle(f);
    assert.deepEqual(r, { idle: true, settleMs: 1200, cpuMs: 460 });
    assert.equal(f.windows(), 4);
  });

  it('an already idle process settles in one window', async () => {
    const f = fake([0]);
    assert.deepEqual(await waitUntilIdle(f), { idle: true, settleMs: 300, cpuMs: 0 });
  });

  it('growth of exactly 2% is not idle; just under is', async () => {
    assert.equal((await waitUntilIdle({ ...fake([6, 5.9]) })).settleMs, 600);
  });

  it('gives up at the cap, saying so', async () => {
    const f = fake([100]);
    const r = await waitUntilIdle({ ...f, capMs: 3000 });
    assert.equal(r.idle, false);
    assert.equal(r.settleMs, 3000);
    assert.equal(r.cpuMs, 1000);
  });

  it('a window that lasted longer than asked (a loaded machine) is judged against its real length', async () => {
    let t = 0;
    let cpu = 0;
    // The sleep of 300 ms took 1000 ms; 15 ms of CPU is 1.5% of that.
    const r = await waitUntilIdle({ cpuMs: () => cpu, now: () => t, sleep: async () => { t += 1000; cpu += 15; } });
    assert.deepEqual(r, { idle: true, settleMs: 1000, cpuMs: 15 });
  });
});
