import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchConfig } from './bench-config.js';
import { BenchChild } from './lib/bench-child.js';
import type { PopulateResult, RecoveryPayload, ReopenResult } from './recovery-child.js';

export interface RecoveryResult {
  sessions: number;
  populate: PopulateResult;
  reopen: ReopenResult;
  /** RSS of the reopened process above its baseline, per session */
  rssPerSessionBytes: number;
}

export const RECOVERY_EXEC_ARGV = ['--expose-gc', '--max-old-space-size=16384'];

/** Workload 4: N sessions saved, the process SIGKILLed, the store reopened and timed. */
export async function runRecovery(cfg: BenchConfig, dataDir: string, log: (s: string) => void, execArgv = RECOVERY_EXEC_ARGV): Promise<RecoveryResult[]> {
  const out: RecoveryResult[] = [];
  for (const sessions of cfg.recovery.sizes) {
    const dir = join(dataDir, `recovery-${sessions}`);
    const base: Omit<RecoveryPayload, 'mode'> = { dir, sessions, seed: cfg.seed, sessiondOptions: cfg.sessiondOptions };
    const writer = BenchChild.start('recovery-child', { ...base, mode: 'populate' }, { waitMsMax: cfg.childStepMsMax, execArgv });
    let populate: PopulateResult;
    try {
      populate = (await writer.next<{ type: string; result: PopulateResult }>('populated')).result;
    } finally {
      await writer.crash();
    }
    const reader = BenchChild.start('recovery-child', { ...base, mode: 'reopen' }, { waitMsMax: cfg.childStepMsMax, execArgv });
    try {
      const reopen = await reader.result<ReopenResult>();
      if (reopen.sessionsFound !== sessions) throw new Error(`reopen found ${reopen.sessionsFound} of ${sessions} sessions`);
      const r = { sessions, populate, reopen, rssPerSessionBytes: (reopen.rssAfterBytes - reopen.rssBeforeBytes) / sessions };
      out.push(r);
      log(`  recovery ${sessions}: populate ${populate.seconds.toFixed(1)} s, reopen after SIGKILL ${(reopen.openMs / 1000).toFixed(2)} s, RSS ${Math.round(r.rssPerSessionBytes)} B/session`);
    } finally {
      await reader.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}
