import type { GlobalWrite } from './global-store.js';

/** When a record stops existing (ms since the epoch): the earlier of its absolute and sliding expiry; null for never. */
export function recordUntilMs(w: Pick<GlobalWrite, 'lastAccessAtMs' | 'expiresAtMs' | 'maxInactiveMs'>): number | null {
  const sliding = w.maxInactiveMs > 0 ? w.lastAccessAtMs + w.maxInactiveMs : Infinity;
  const absolute = w.expiresAtMs > 0 ? w.expiresAtMs : Infinity;
  const until = Math.min(sliding, absolute);
  return Number.isFinite(until) ? until : null;
}
