import type { Logger } from '../options.js';
import type { SessionState } from '../session/session-state.js';
import type { CacheBound } from './cache-bound.js';
import { STATE_BYTES_FIXED } from './loaded-sessions.js';
import type { SessionCache } from './session-cache.js';
import type { SessionDatabase } from './session-database.js';

/** Rekey under cacheBytesMax loads cold sessions in slices of this fraction of the bound. */
export const REKEY_SLICE_BYTES_FRACTION = 0.25;

export interface RekeyDeps {
  cache: SessionCache;
  bound: CacheBound | undefined;
  db: SessionDatabase;
  now: () => number;
  /** engine.read: loads a session left on disk (undefined when expired or absent). */
  read: (id: string) => Promise<SessionState | undefined>;
  /** engine.flush: every change so far into the database file. */
  flush: () => Promise<void>;
  logger: Logger;
  /** The key new writes are sealed under (undefined: clear), for the log line. */
  keyId: string | undefined;
}

/**
 * `engine.rekey()` (docs/operations.md, key rotation): when it resolves, no file of the
 * store holds a byte sealed under any key but the current one.
 *
 * - Every session's image is written again (the flusher seals under the current key).
 *   Cold sessions too (docs/memory.md): packed ones are decoded; under `cacheBytesMax` they
 *   are taken a slice at a time (REKEY_SLICE_BYTES_FRACTION of the bound), loaded if on
 *   disk, and pinned against eviction until the flush that rewrites them.
 * - Expired sessions not reclaimed yet are reclaimed now: their image is freed by the
 *   flush, not left under the old key until the reaper reaches it.
 * - Then the free space of the database file is scrubbed (db-scrub.ts): a freed extent
 *   keeps its old bytes past its first block, and the free tail is truncated.
 * - The logs need nothing: the open reset both (every record before it is in the database
 *   file), and every record since is sealed under the current key, which an engine never
 *   changes while open. So no log swap is forced (test/engine/rekey-complete.test.ts checks
 *   the log bytes).
 *
 * Resolves the number of sessions rewritten.
 */
export async function rekeyAll(d: RekeyDeps): Promise<number> {
  const n = d.bound === undefined ? await rekeyLoaded(d) : await rekeyBounded(d, d.bound);
  await d.flush(); // the reclaims of the last slice, and anything freed since
  const scrub = d.db.scrubFree === undefined ? undefined : await d.db.scrubFree();
  d.logger.info('rekey_done', { rewritten: n, key: d.keyId ?? '(clear)', ...scrub });
  return n;
}

async function rekeyLoaded(d: RekeyDeps): Promise<number> {
  const { cache } = d;
  for (const id of [...cache.cold.ids()]) cache.unpack(id);
  const now = d.now();
  // An expired one is dropped by the flusher, which frees its image.
  for (const id of cache.visible.keys()) cache.markDirty(id, now);
  const n = cache.visible.size;
  await d.flush();
  return n;
}

async function rekeyBounded(d: RekeyDeps, bound: CacheBound): Promise<number> {
  const { cache } = d;
  // Every session there is now, loaded or on disk; later ones are written under the current key anyway.
  const ids = [...cache.visible.keys(), ...cache.cold.ids()];
  const sliceBytesMax = Math.max(1, bound.cacheBytesMax * REKEY_SLICE_BYTES_FRACTION);
  let n = 0;
  for (let at = 0; at < ids.length; ) {
    const slice: string[] = [];
    for (let bytes = 0; at < ids.length && bytes < sliceBytesMax; at++) {
      const id = ids[at]!;
      if (reclaimIfExpired(d, id)) continue;
      const loaded = cache.visible.get(id);
      const chars = loaded?.attrs.length ?? cache.cold.get(id)?.attrChars;
      if (chars === undefined) continue; // destroyed or reclaimed meanwhile
      bytes += STATE_BYTES_FIXED + id.length + chars;
      slice.push(id);
    }
    for (const id of slice) bound.pin(id);
    try {
      for (const id of slice) await d.read(id); // loads the ones on disk; pinned, none leaves again
      const now = d.now();
      for (const id of slice) {
        if (reclaimIfExpired(d, id) || !cache.visible.has(id)) continue; // expired or destroyed meanwhile
        cache.markDirty(id, now);
        n++;
      }
      await d.flush();
    } finally {
      for (const id of slice) bound.unpin(id);
    }
  }
  return n;
}

/** A session left on disk that has expired: reclaimed like the reaper does (its image is freed by the next flush). */
function reclaimIfExpired(d: RekeyDeps, id: string): boolean {
  const expiry = d.cache.cold.expiryOf(id);
  if (expiry === undefined) return false;
  const now = d.now();
  if (expiry > now) return false;
  d.cache.reclaim(id, now);
  return true;
}
