import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchConfig } from './bench-config.js';
import { runDisk } from './disk.js';
import { runEngine } from './engine.js';
import { runHttp } from './http.js';
import { WORKLOADS, type BenchResults, type Workload } from './lib/bench-results.js';
import { machineInfo } from './lib/machine-info.js';
import { REPO_ROOT } from './lib/package-version.js';
import { renderTables } from './lib/report-tables.js';
import { sessiondEngineBuilt } from './lib/sessiond-engine.js';
import { runMemory } from './memory.js';
import { runRecovery, RECOVERY_EXEC_ARGV } from './recovery.js';
import { runStoreApi } from './store-api.js';
import { availablePeers } from './peers/peer-registry.js';
import type { SessiondOptions } from './peers/peer.js';

const USAGE = `node dist/bench/run.js [--quick] [--only disk,engine,store-api,http,recovery,memory]
  [--stores noop,memorystore,redis,pg,file,sqlite,sessiond-fsync,sessiond-interval,sessiond-none]
  [--out results.json] [--dir data-dir] [--cpu-prof] [--sessiond-options '{"flushBatchBytesMax":268435456}']`;

interface Args {
  quick: boolean;
  only: Workload[];
  stores: string[];
  out: string | undefined;
  dir: string | undefined;
  cpuProf: boolean;
  sessiondOptions: SessiondOptions;
}

function parse(): Args {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      stores: { type: 'string' },
      out: { type: 'string' },
      dir: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      'sessiond-options': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const only = (values.only?.split(',') ?? [...WORKLOADS]) as Workload[];
  for (const w of only) if (!WORKLOADS.includes(w)) throw new Error(`unknown workload '${w}'\n${USAGE}`);
  const known = availablePeers();
  const stores = values.stores?.split(',') ?? known;
  for (const s of stores) if (!known.includes(s)) throw new Error(`store '${s}' is unknown or not built; available: ${known.join(', ')}`);
  const sessiondOptions = JSON.parse(values['sessiond-options'] ?? '{}') as SessiondOptions;
  return { quick: values.quick, only, stores, out: values.out, dir: values.dir, cpuProf: values['cpu-prof'], sessiondOptions };
}

async function main(): Promise<void> {
  const args = parse();
  const cfg = benchConfig(args.quick);
  cfg.sessiondOptions = args.sessiondOptions;
  const started = Date.now();
  const stamp = new Date(started).toISOString().replace(/[:.]/g, '-');
  const dataDir = args.dir ?? join(tmpdir(), `sessiond-bench-${process.pid}`);
  const resultsDir = join(REPO_ROOT, 'bench/results');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(resultsDir, { recursive: true });
  const profArgv = args.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', join(resultsDir, `prof-${stamp}`)] : [];
  const log = (s: string): void => console.log(s);
  const results: BenchResults = {
    formatVersion: 1,
    startedAt: new Date(started).toISOString(),
    seconds: 0,
    command: `node ${process.argv.slice(1).map((a) => a.replace(REPO_ROOT, '')).join(' ')}`,
    config: cfg,
    dataDir,
    machine: machineInfo(dataDir),
    loadAverageAt: {},
    stores: args.stores,
    failures: [],
  };
  const engineBuilt = sessiondEngineBuilt();
  log(`sessiond bench (${args.quick ? 'quick' : 'full'}): ${args.only.join(', ')} on ${args.stores.join(', ')}; data in ${dataDir}`);
  const step = async (w: Workload, fn: () => Promise<void>): Promise<void> => {
    if (!args.only.includes(w)) return;
    results.loadAverageAt[w] = loadavg()[0]!;
    const t = Date.now();
    log(`${w} ...`);
    try {
      await fn();
    } catch (e) {
      results.failures.push({ workload: w, error: (e as Error).stack ?? String(e) });
      log(`  ${w} FAILED: ${(e as Error).message}`);
    }
    log(`  ${w} took ${((Date.now() - t) / 1000).toFixed(1)} s`);
  };
  try {
    await step('disk', async () => {
      results.disk = runDisk(cfg, dataDir);
      const d = results.disk;
      log(`  disk ${d.fsType}: 4 KiB append+fdatasync p50 ${d.append4k.p50Ms.toFixed(3)} ms p99 ${d.append4k.p99Ms.toFixed(3)} ms; sequential ${Math.round(d.sequentialWrite.mbPerSec)} MB/s`);
    });
    await step('engine', async () => {
      if (!engineBuilt) throw new Error('sessiond engine not built (dist/src/engine/session-engine.js missing)');
      results.engine = await runEngine(cfg, dataDir, profArgv, log);
    });
    await step('store-api', async () => {
      results.storeApi = await runStoreApi(cfg, args.stores, dataDir, profArgv, log);
    });
    await step('http', async () => {
      results.http = await runHttp(cfg, args.stores, dataDir, profArgv, log);
    });
    await step('recovery', async () => {
      if (!engineBuilt) throw new Error('sessiond engine not built');
      results.recovery = await runRecovery(cfg, dataDir, log, [...RECOVERY_EXEC_ARGV, ...profArgv]);
    });
    await step('memory', async () => {
      results.memory = await runMemory(cfg, args.stores, dataDir, log);
    });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  results.seconds = (Date.now() - started) / 1000;
  const name = `bench-${stamp}${args.quick ? '-quick' : ''}.json`;
  const out = args.out ?? join(resultsDir, name);
  const text = JSON.stringify(results, null, 1);
  writeFileSync(out, text);
  writeFileSync(join(resultsDir, args.quick ? 'latest-quick.json' : 'latest.json'), text);
  console.log('\n' + renderTables(results));
  log(`\nwrote ${out} (${results.seconds.toFixed(0)} s); docs: node dist/bench/report.js ${out}`);
  if (results.failures.length > 0) {
    log(`${results.failures.length} workload(s) failed`);
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
