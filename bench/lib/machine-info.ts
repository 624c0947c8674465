import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { packageVersion, REPO_ROOT } from './package-version.js';

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memTotalBytes: number;
  memFreeBytes: number;
  kernel: string;
  node: string;
  /** `df -h <data dir>` as printed */
  df: string;
  /** `free -h` as printed */
  free: string;
  loadAverage: number[];
  packages: Record<string, string>;
  /** the commit the bench ran on, and whether src/ had uncommitted changes */
  git: { commit: string; srcDirty: boolean };
}

const PACKAGES = ['express', 'express-session', 'memorystore', 'connect-redis', 'redis', 'connect-pg-simple', 'pg', 'session-file-store', 'better-sqlite3', 'better-sqlite3-session-store', 'autocannon', 'typescript'];

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? r.stdout.trimEnd() : `(${cmd} failed: ${r.error?.message ?? r.stderr})`;
}

export function machineInfo(dataDir: string): MachineInfo {
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memTotalBytes: totalmem(),
    memFreeBytes: freemem(),
    kernel: release(),
    node: process.version,
    df: run('df', ['-hT', dataDir]),
    free: run('free', ['-h']),
    loadAverage: loadavg(),
    packages: Object.fromEntries(PACKAGES.map((p) => [p, packageVersion(p)])),
    git: { commit: run('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD']), srcDirty: run('git', ['-C', REPO_ROOT, 'status', '--porcelain', '--', 'src']) !== '' },
  };
}
