import type { EngineStats } from '../engine/engine-stats.js';
import { SessiondError } from '../errors.js';

/** Guards against an admin port that accepts but never answers. */
export const ADMIN_STATS_TIMEOUT_MS = 10_000;

/**
 * The statistics of a running store, read from its admin port (`/api/stats`): the latency
 * histograms live in the serving process, so a fresh `sessiond stats <dir>` would show
 * empty ones (and cannot open a store another process holds).
 */
export async function fetchAdminStats(adminUrl: string): Promise<EngineStats> {
  let url: URL;
  try {
    url = new URL('/api/stats', adminUrl);
  } catch {
    throw new SessiondError('SESSIOND_INVALID_ARGUMENT', `--admin-url: not a URL: ${JSON.stringify(adminUrl)}`);
  }
  const res = await fetch(url, { signal: AbortSignal.timeout(ADMIN_STATS_TIMEOUT_MS) }).catch((e: unknown) => {
    throw new SessiondError('SESSIOND_INVALID_ARGUMENT', `--admin-url: ${url.origin} did not answer: ${(e as Error).message}`);
  });
  if (!res.ok) throw new SessiondError('SESSIOND_INVALID_ARGUMENT', `--admin-url: ${url.href} answered HTTP ${res.status}`);
  return ((await res.json()) as { engine: EngineStats }).engine;
}
