/** Test support (the global store contract): fresh session IDs and the records the contract writes. */
import type { GlobalWrite } from '../../src/global/global-store.js';

let seq = 0;
export const sid = (): string => `sess${String(++seq).padStart(4, '0')}xxxxxxxxxxxxxxxx`;
export const HOUR = 3_600_000;

/** A record created now, expiring in an hour. */
export function w(attrs: string, over: Partial<GlobalWrite> = {}): GlobalWrite {
  const now = Date.now();
  return { attrs, createdAtMs: now, lastAccessAtMs: now, expiresAtMs: now + HOUR, maxInactiveMs: 0, ...over };
}
