import { effectiveExpiryMs, type SessionState } from '../session/session-state.js';
import type { ColdSessions } from './cold-sessions.js';

/**
 * The statistics scan (SPEC E9, claim 3): counts and sizes of sessions by owner, by age and
 * by time to expiry. It walks the cache in slices and yields to the event loop between
 * them, so reading statistics never blocks requests.
 */

export const CENSUS_SLICE_SESSIONS = 20_000;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Upper bounds of the age and time-to-expiry buckets. */
export const CENSUS_BUCKETS_MS = [MINUTE, 10 * MINUTE, HOUR, DAY, 7 * DAY, Infinity] as const;
const BUCKET_LABELS = ['<1m', '<10m', '<1h', '<1d', '<7d', '>=7d'] as const;

export interface Census {
  count: number;
  /** Attribute bytes (UTF-16 code units of the blob, close to UTF-8 bytes for JSON). */
  attributeBytes: number;
  attributeBytesMax: number;
  byOwner: Record<string, number>;
  byAge: Record<string, number>;
  byTimeToExpiry: Record<string, number>;
}

function bucketOf(ms: number): string {
  let i = 0;
  while (ms >= CENSUS_BUCKETS_MS[i]!) i++;
  return BUCKET_LABELS[i]!;
}

function emptyBuckets(): Record<string, number> {
  return Object.fromEntries(BUCKET_LABELS.map((l) => [l, 0]));
}

export async function takeCensus(sessions: ReadonlyMap<string, SessionState>, nowMs: number, cold?: ColdSessions): Promise<Census> {
  const c: Census = { count: 0, attributeBytes: 0, attributeBytesMax: 0, byOwner: {}, byAge: emptyBuckets(), byTimeToExpiry: emptyBuckets() };
  let n = 0;
  // Map iterators survive inserts and deletes made while we yield.
  for (const s of sessions.values()) {
    if (++n % CENSUS_SLICE_SESSIONS === 0) await new Promise<void>((r) => setImmediate(r));
    const expiry = effectiveExpiryMs(s);
    if (expiry <= nowMs) continue;
    c.count++;
    c.attributeBytes += s.attrs.length;
    if (s.attrs.length > c.attributeBytesMax) c.attributeBytesMax = s.attrs.length;
    c.byOwner[s.owner] = (c.byOwner[s.owner] ?? 0) + 1;
    c.byAge[bucketOf(nowMs - s.createdAtMs)]!++;
    c.byTimeToExpiry[bucketOf(expiry - nowMs)]!++;
  }
  // Sessions packed or on disk count from their summaries, without being decoded or read back.
  await cold?.forEachSliced(CENSUS_SLICE_SESSIONS, (_id, expiry, createdAtMs, attrChars, owner) => {
    if (expiry <= nowMs) return;
    c.count++;
    c.attributeBytes += attrChars;
    if (attrChars > c.attributeBytesMax) c.attributeBytesMax = attrChars;
    c.byOwner[owner] = (c.byOwner[owner] ?? 0) + 1;
    c.byAge[bucketOf(nowMs - createdAtMs)]!++;
    c.byTimeToExpiry[bucketOf(expiry - nowMs)]!++;
  });
  return c;
}
