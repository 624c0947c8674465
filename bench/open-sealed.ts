/**
 * The open of a store whose sessions are not decoded (packed, or on disk under
 * `cacheBytesMax`), clear beside sealed (docs/benchmarks.md "Format v3 and these figures"):
 * with `encryption` the open checks each sealed image's GCM tag, which a clear store does not
 * pay. Saves N sessions of ~1 KiB with a principal (durability none, closed cleanly, so every
 * session is an image), then reopens each store 3 times without a bound and 3 times with a
 * 4 MiB bound, and prints the CPU time (user + system) and wall time of each open as JSON.
 *
 *   node dist/bench/open-sealed.js [sessions] [dir]
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SessionEngine } from '../src/engine/session-engine.js';
import type { EngineOptionsInput } from '../src/options.js';

const SESSIONS = Number(process.argv[2] ?? 20_000);
const DIR = process.argv[3] ?? '/tmp/sessiond-open-sealed';
const IN_FLIGHT = 512;
const ROUNDS = 3;
const BOUNDS = [0, 4 * 1024 * 1024];
const KEY = Buffer.alloc(32, 9).toString('base64');

function attributesOf(i: number): Record<string, string> {
  return { user: JSON.stringify(`u${i % 1000}`), cart: JSON.stringify('x'.repeat(900)), n: String(i) };
}

async function populate(dir: string, extra: Partial<EngineOptionsInput>): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  const e = await SessionEngine.open({ dir, durability: 'none', principal: 'user', ...extra });
  let pending: Array<Promise<unknown>> = [];
  for (let i = 0; i < SESSIONS; i++) {
    pending.push(e.save(`sess-${String(i).padStart(12, '0')}`, { attributes: attributesOf(i) }));
    if (pending.length >= IN_FLIGHT) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  await e.close();
}

for (const sealed of [false, true]) {
  const dir = join(DIR, sealed ? 'sealed' : 'clear');
  const extra: Partial<EngineOptionsInput> = sealed ? { encryption: { keys: { k1: KEY }, current: 'k1' } } : {};
  await populate(dir, extra);
  for (const cacheBytesMax of BOUNDS) {
    const runs: Array<{ cpuMs: number; wallMs: number }> = [];
    for (let r = 0; r < ROUNDS; r++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const e = await SessionEngine.open({ dir, principal: 'user', cacheBytesMax, ...extra });
      const cpu = process.cpuUsage(c0);
      runs.push({ cpuMs: Math.round((cpu.user + cpu.system) / 1000), wallMs: Math.round(performance.now() - t0) });
      await e.close();
    }
    console.log(JSON.stringify({ sessions: SESSIONS, sealed, cacheBytesMax, runs }));
  }
}
rmSync(DIR, { recursive: true, force: true });
