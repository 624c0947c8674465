import type { BenchConfig } from '../bench-config.js';
import type { DiskResult } from '../disk.js';
import type { EngineResult } from '../engine-child.js';
import type { HttpRun } from '../http.js';
import type { MemoryRun } from '../memory.js';
import type { RecoveryResult } from '../recovery.js';
import type { StoreApiRun } from '../store-api.js';
import type { MachineInfo } from './machine-info.js';

export const WORKLOADS = ['disk', 'engine', 'store-api', 'http', 'recovery', 'memory'] as const;
export type Workload = (typeof WORKLOADS)[number];

/** Everything one `bench/run` writes to bench/results/*.json and report.ts turns into docs. */
export interface BenchResults {
  formatVersion: 1;
  startedAt: string;
  seconds: number;
  command: string;
  config: BenchConfig;
  dataDir: string;
  machine: MachineInfo;
  /** 1-minute load average when each workload started: other work on the machine skews numbers */
  loadAverageAt: Partial<Record<Workload, number>>;
  stores: string[];
  disk?: DiskResult;
  engine?: EngineResult;
  storeApi?: StoreApiRun;
  http?: HttpRun;
  recovery?: RecoveryResult[];
  memory?: MemoryRun;
  failures: { workload: string; error: string }[];
}
