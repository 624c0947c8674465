import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { forEachConcurrent } from './lib/concurrent-loop.js';
import { makeSession, sessionBody } from './lib/session-data.js';
import { sessionIds } from './lib/session-ids.js';
import { REPO_ROOT } from './lib/package-version.js';

/**
 * The flusher alone: CPU (user + system, every thread) per image of a fold, after every
 * one of `sessions` ~1 KiB sessions changed, with the timer held off so nothing else runs
 * during the fold. `node dist/bench/profile-flush.js [rounds] [sessions] [repo root of
 * another build]`: run it with two builds alternating (A B A B) to compare them. The first
 * round writes at the end of the file (it grows), the later ones into the blocks the
 * previous round freed. Run with `node --expose-gc` to start each fold from a collected heap
 * (the saves' garbage is not charged to it); the median of the rounds is printed last.
 */
const rounds = Number(process.argv[2] ?? 4);
const sessions = Number(process.argv[3] ?? 20_000);
const root = resolve(process.argv[4] ?? REPO_ROOT);
const { SessionEngine } = (await import(join(root, 'dist/src/engine/session-engine.js'))) as typeof import('../src/engine/session-engine.js');
const { serializeObject } = (await import(join(root, 'dist/src/session/attributes.js'))) as typeof import('../src/session/attributes.js');
const dir = join(tmpdir(), `sessiond-profile-flush-${process.pid}`);
mkdirSync(dir, { recursive: true });
const engine = await SessionEngine.open({ dir: join(dir, 'engine'), durability: 'fsync', flushIntervalMs: 3_600_000 });
try {
  const now = Date.now();
  const ids = sessionIds(sessions, 42);
  const versions = [0, 1].map((v) => ids.map((_, i) => serializeObject(makeSession(sessionBody(42 + v, i), 1, 1, now))));
  await forEachConcurrent(sessions, 1024, (i) => engine.save(ids[i]!, { attributes: versions[0]![i]! }));
  await engine.flush();
  const out: string[] = [];
  const perImage: number[] = [];
  for (let r = 0; r < rounds; r++) {
    await forEachConcurrent(sessions, 1024, (i) => engine.save(ids[i]!, { attributes: versions[(r + 1) % 2]![i]! }));
    (globalThis as { gc?: () => void }).gc?.();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await engine.flush();
    const c = process.cpuUsage(c0);
    perImage.push((c.user + c.system) / sessions);
    out.push(`${((c.user + c.system) / sessions).toFixed(1)} µs (system ${(c.system / sessions).toFixed(1)}) in ${Math.round(performance.now() - t0)} ms`);
  }
  const median = [...perImage].sort((a, b) => a - b)[perImage.length >> 1]!;
  console.log(`${root}: CPU per image folded, ${sessions} sessions a round: ${out.join(', ')}; median ${median.toFixed(1)} µs`);
} finally {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
}
