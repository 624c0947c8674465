import { join } from 'node:path';
import type { BenchConfig } from './bench-config.js';
import type { EnginePayload, EngineResult } from './engine-child.js';
import { BenchChild } from './lib/bench-child.js';

/** Durable writes and cache reads against sessiond's engine directly, in a child of its own. */
export async function runEngine(cfg: BenchConfig, dataDir: string, execArgv: string[], log: (s: string) => void): Promise<EngineResult> {
  const payload: EnginePayload = { dir: join(dataDir, 'engine'), sessiondOptions: cfg.sessiondOptions, seed: cfg.seed, sessions: cfg.engine.sessions, phaseMs: cfg.engine.phaseMs, depths: cfg.engine.depths, cacheReadOps: cfg.engine.cacheReadOps };
  const child = BenchChild.start('engine-child', payload, { waitMsMax: cfg.childStepMsMax, execArgv });
  try {
    const result = await child.result<EngineResult>();
    for (const d of result.depths) {
      log(`  engine @${d.depth}: raw ${Math.round(d.raw.opsPerSec)}/s (p50 ${d.raw.latency.p50Ms.toFixed(3)} ms), full save ${Math.round(d.fullSave.opsPerSec)}/s (p50 ${d.fullSave.latency.p50Ms.toFixed(3)} ms), small save ${Math.round(d.smallSave.opsPerSec)}/s; loop delay p99/max ms: raw ${d.raw.loopDelay.p99Ms.toFixed(1)}/${d.raw.loopDelay.maxMs.toFixed(1)}, full ${d.fullSave.loopDelay.p99Ms.toFixed(1)}/${d.fullSave.loopDelay.maxMs.toFixed(1)}, small ${d.smallSave.loopDelay.p99Ms.toFixed(1)}/${d.smallSave.loopDelay.maxMs.toFixed(1)}`);
    }
    log(`  engine cache reads ${Math.round(result.cacheReads.opsPerSec)}/s, with JSON.parse ${Math.round(result.cacheReadsParsed.opsPerSec)}/s`);
    return result;
  } finally {
    await child.kill();
  }
}
