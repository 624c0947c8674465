import { cpSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';

/**
 * `engine.rekey()` of two builds on the same store, rounds alternating A B (docs/benchmarks.md,
 * "Rekey with the free-space scrub"). Prepares once, with build A, a store of `sessions`
 * sealed sessions of ~1.5 KB under k1, half of them rewritten once (freed extents); then each
 * round copies it and times rekey() (current k2) in this process, build by build.
 * `node dist/bench/rekey.js <dist of build A> <dist of build B> <work dir> [sessions] [rounds]`,
 * where a dist is the output of `tsc` (say, of `git worktree add /tmp/a <commit>`).
 */

type Engine = typeof import('../src/engine/session-engine.js');

const K1 = Buffer.alloc(32, 1);
const K2 = Buffer.alloc(32, 2);
const quiet = { info() {}, warn() {}, error() {} };

async function load(dist: string): Promise<Engine> {
  return (await import(join(resolve(dist), 'src/engine/session-engine.js'))) as Engine;
}

async function prepare(m: Engine, dir: string, n: number): Promise<void> {
  const e = await m.SessionEngine.open({ dir, durability: 'none', logger: quiet, encryption: { keys: { k1: K1 }, current: 'k1' } });
  const v = (i: number, r: number): { attributes: Record<string, string> } => ({ attributes: { v: JSON.stringify(randomBytes(700).toString('hex') + i + r) } });
  for (let i = 0; i < n; i += 500) await Promise.all(Array.from({ length: Math.min(500, n - i) }, (_, j) => e.save(`sess-${i + j}-xxxxxxxxxxxxxxxx`, v(i + j, 0))));
  await e.flush();
  for (let i = 0; i < n; i += 1000) await Promise.all(Array.from({ length: Math.min(500, Math.ceil((n - i) / 2)) }, (_, j) => e.save(`sess-${i + 2 * j}-xxxxxxxxxxxxxxxx`, v(i + j, 1))));
  await e.close();
}

async function rekeyOnce(m: Engine, dir: string): Promise<{ ms: number; zeroed: number }> {
  let zeroed = 0;
  const logger = { ...quiet, info: (ev: string, f?: Record<string, unknown>) => void (ev === 'rekey_done' && (zeroed = Number(f?.bytesZeroed ?? 0))) };
  const e = await m.SessionEngine.open({ dir, logger, encryption: { keys: { k1: K1, k2: K2 }, current: 'k2' } });
  const t0 = performance.now();
  await e.rekey();
  const ms = performance.now() - t0;
  await e.close();
  return { ms, zeroed };
}

async function main(): Promise<void> {
  const [a, b, work, sessionsArg, roundsArg] = process.argv.slice(2);
  if (a === undefined || b === undefined || work === undefined) throw new Error('usage: rekey.js <dist A> <dist B> <work dir> [sessions] [rounds]');
  const sessions = Number(sessionsArg ?? 20_000);
  const rounds = Number(roundsArg ?? 3);
  const builds = [await load(a), await load(b)];
  const base = join(work, 'base');
  rmSync(work, { recursive: true, force: true });
  await prepare(builds[0]!, base, sessions);
  console.log(`store: ${sessions} sessions, sessions.db ${statSync(join(base, 'sessions.db')).size} B`);
  for (let r = 1; r <= rounds; r++) {
    for (const [k, m] of builds.entries()) {
      const dir = join(work, `run-${k}`);
      rmSync(dir, { recursive: true, force: true });
      cpSync(base, dir, { recursive: true });
      const { ms, zeroed } = await rekeyOnce(m, dir);
      console.log(`round ${r} build ${k === 0 ? 'A' : 'B'}: rekey ${(ms / 1000).toFixed(1)} s, zeroed ${zeroed} B`);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  rmSync(work, { recursive: true, force: true });
}

await main();
