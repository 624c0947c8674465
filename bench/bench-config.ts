import type { SessiondOptions } from './peers/peer.js';

/** Sizes and time limits of one bench run: the full set, or --quick for a smoke run under a minute. */
export interface BenchConfig {
  quick: boolean;
  seed: number;
  disk: { latencyOps: number; latencyMsMax: number; bandwidthBytes: number };
  engine: { phaseMs: number; depths: number[]; cacheReadOps: number; sessions: number };
  storeApi: { sessions: number; phaseMs: number; mixedDepth: number; writeDepths: number[]; populateDepth: number };
  /** skipTouch: an experiment knob (touch answered without writing), never set by run.ts */
  http: { connections: number; durationSec: number; rounds: number; sessiondSerialize: boolean; skipTouch?: boolean };
  recovery: { sizes: number[] };
  /** each run loads `sessions` into each of `stores` through the Store API (sessiond at 1M: see recovery, which loads it through the engine) */
  memory: { runs: { sessions: number; stores: string[] }[]; settleMs: number };
  /** engine options given to every sessiond store and engine the bench opens, beyond dir and durability ({} = the defaults) */
  sessiondOptions: SessiondOptions;
  /** longest any one child may take for one step before it is killed */
  childStepMsMax: number;
}

const MiB = 1024 * 1024;

export function benchConfig(quick: boolean): BenchConfig {
  return quick
    ? {
        quick,
        seed: 42,
        disk: { latencyOps: 300, latencyMsMax: 1000, bandwidthBytes: 32 * MiB },
        engine: { phaseMs: 300, depths: [1, 16, 256], cacheReadOps: 1_000_000, sessions: 2000 },
        storeApi: { sessions: 500, phaseMs: 150, mixedDepth: 64, writeDepths: [1, 16, 256], populateDepth: 256 },
        http: { connections: 32, durationSec: 0.5, rounds: 1, sessiondSerialize: true },
        recovery: { sizes: [10_000] },
        memory: { runs: [{ sessions: 5000, stores: ['noop', 'memorystore', 'sessiond-fsync'] }], settleMs: 200 },
        sessiondOptions: {},
        childStepMsMax: 60_000,
      }
    : {
        quick,
        seed: 42,
        disk: { latencyOps: 5000, latencyMsMax: 5000, bandwidthBytes: 512 * MiB },
        engine: { phaseMs: 2000, depths: [1, 16, 256], cacheReadOps: 20_000_000, sessions: 20_000 },
        storeApi: { sessions: 10_000, phaseMs: 2000, mixedDepth: 64, writeDepths: [1, 16, 256], populateDepth: 256 },
        http: { connections: 32, durationSec: 4, rounds: 3, sessiondSerialize: true },
        recovery: { sizes: [100_000, 1_000_000] },
        memory: {
          runs: [
            { sessions: 100_000, stores: ['noop', 'memorystore', 'sessiond-fsync'] },
            { sessions: 1_000_000, stores: ['memorystore'] },
          ],
          settleMs: 1500,
        },
        sessiondOptions: {},
        childStepMsMax: 300_000,
      };
}
