import { join } from 'node:path';
import type { BenchConfig } from './bench-config.js';
import { BenchChild } from './lib/bench-child.js';
import type { PhaseSpec } from './lib/store-workload.js';
import type { StoreApiPayload, StoreApiResult } from './store-api-child.js';

export interface StoreApiRun {
  results: StoreApiResult[];
  failures: { peer: string; error: string }[];
}

export function storeApiPhases(cfg: BenchConfig): PhaseSpec[] {
  const s = cfg.storeApi;
  return [
    { name: `mixed 90/10 @${s.mixedDepth}`, depth: s.mixedDepth, readFraction: 0.9, durationMs: s.phaseMs },
    ...s.writeDepths.map((depth) => ({ name: `writes @${depth}`, depth, readFraction: 0, durationMs: s.phaseMs })),
  ];
}

/** Workload 2: every store through the express-session Store API, each in its own process. */
export async function runStoreApi(cfg: BenchConfig, peers: string[], dataDir: string, execArgv: string[], log: (s: string) => void): Promise<StoreApiRun> {
  const out: StoreApiRun = { results: [], failures: [] };
  for (const peer of peers) {
    const payload: StoreApiPayload = {
      peer,
      dir: join(dataDir, `store-api-${peer}`),
      sessiondOptions: cfg.sessiondOptions,
      sessions: cfg.storeApi.sessions,
      seed: cfg.seed,
      populateDepth: cfg.storeApi.populateDepth,
      phases: storeApiPhases(cfg),
    };
    const child = BenchChild.start('store-api-child', payload, { waitMsMax: cfg.childStepMsMax, execArgv });
    try {
      const result = await child.result<StoreApiResult>();
      out.results.push(result);
      const mixed = result.phases[0];
      log(`  store-api ${peer}: populate ${Math.round(result.populate.opsPerSec)}/s, mixed ${Math.round(mixed?.opsPerSec ?? 0)} ops/s (loop delay p99 ${mixed?.loopDelay.p99Ms.toFixed(1)} max ${mixed?.loopDelay.maxMs.toFixed(1)} ms), ` +
        result.phases.slice(1).map((p) => `${p.name} ${Math.round(p.opsPerSec)}/s`).join(', ') +
        `, check failures ${result.phases.reduce((n, p) => n + p.checkFailures, 0) + result.verify.failures}`);
    } catch (e) {
      out.failures.push({ peer, error: (e as Error).message });
      log(`  store-api ${peer}: FAILED ${(e as Error).message.split('\n')[0]}`);
    } finally {
      await child.kill();
    }
  }
  return out;
}
