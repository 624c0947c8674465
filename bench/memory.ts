import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchConfig } from './bench-config.js';
import { BenchChild } from './lib/bench-child.js';
import type { MemoryPayload, MemoryResult } from './memory-child.js';
import { RECOVERY_EXEC_ARGV } from './recovery.js';

export interface MemoryRun {
  results: MemoryResult[];
  failures: { peer: string; sessions: number; error: string }[];
}

const LOAD_DEPTH = 256;

/** Workload 5: resident memory per session, each store and size in a fresh process. */
export async function runMemory(cfg: BenchConfig, peers: string[], dataDir: string, log: (s: string) => void): Promise<MemoryRun> {
  const out: MemoryRun = { results: [], failures: [] };
  for (const { sessions, stores } of cfg.memory.runs) {
    for (const peer of stores.filter((s) => peers.includes(s))) {
      const dir = join(dataDir, `memory-${peer}-${sessions}`);
      const payload: MemoryPayload = { peer, dir, sessions, seed: cfg.seed, depth: LOAD_DEPTH, settleMs: cfg.memory.settleMs, sessiondOptions: cfg.sessiondOptions };
      const child = BenchChild.start('memory-child', payload, { waitMsMax: cfg.childStepMsMax, execArgv: RECOVERY_EXEC_ARGV });
      try {
        const result = await child.result<MemoryResult>();
        out.results.push(result);
        log(`  memory ${peer} ${sessions}: ${Math.round(result.rssPerSessionBytes)} B/session RSS (payload ${Math.round(result.payloadBytesPerSession)} B), load ${result.loadSeconds.toFixed(1)} s`);
      } catch (e) {
        out.failures.push({ peer, sessions, error: (e as Error).message });
        log(`  memory ${peer} ${sessions}: FAILED ${(e as Error).message.split('\n')[0]}`);
      } finally {
        await child.kill();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  return out;
}
