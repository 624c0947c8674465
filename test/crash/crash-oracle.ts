/**
 * The crash simulation's oracle. The engine reports every change the moment its record is
 * appended (the `observer` option), so S_k, the store after the first k appended changes of
 * an epoch on top of the state the epoch started from, is known for every k. After a crash
 * the store must hold exactly some S_k (no holes), with k at or past the last change the
 * durability level promised to keep, and every session expired by the clock left out.
 */
import { isExpired, type SessionState } from '../../src/session/session-state.js';
import type { SessionEngine } from '../../src/engine/session-engine.js';

export interface Change {
  lsn: number;
  id: string;
  state: SessionState | undefined;
}

/** What a session must look like after recovery (the fields recovery must restore). */
export function fingerprint(s: SessionState): string {
  return `${s.version}|${s.createdAtMs}|${s.expiresAtMs}|${s.maxInactiveMs}|${s.principal}|${s.attrs}`;
}

/**
 * The principal index against the sessions (SPEC B5): every live session with a principal
 * is found by sessionsOf(principal), and sessionsOf finds nothing else. undefined when right.
 */
export async function principalIndexError(engine: SessionEngine, io: 'read' | 'memory' = 'read'): Promise<string | undefined> {
  const want = new Map<string, Set<string>>();
  // 'read': sessions the cache bound left on disk are read back (not loaded) and counted too.
  // 'memory' (an engine whose file layer may have crashed): the loaded sessions only, and
  // every ID the index lists must be a loaded session of that principal or a cold one.
  const states = io === 'read' ? await engine.readAll() : engine.all(true);
  const loaded = new Map(states.map((s) => [s.id, s]));
  for (const s of states) {
    if (s.principal === '') continue;
    if (!want.has(s.principal)) want.set(s.principal, new Set());
    want.get(s.principal)!.add(s.id);
  }
  const cold = new Set(io === 'read' ? [] : engine.ids().filter((id) => !loaded.has(id)));
  for (const p of new Set([...want.keys(), 'p0', 'p1', 'p2', 'p3'])) {
    // idsOf: cold sessions from their summaries' principal, without loading them.
    const listed = engine.idsOf(p);
    const got = listed.filter((id) => !cold.has(id)).sort().join(',');
    const expected = [...(want.get(p) ?? [])].sort().join(',');
    if (got !== expected) return `principal index: idsOf(${p}) = [${got.slice(0, 80)}], the sessions say [${expected.slice(0, 80)}]`;
  }
  return undefined;
}

export type Store = Map<string, SessionState>;

/** The live sessions of an open engine. */
export function actualStore(engine: SessionEngine): Store {
  return new Map(engine.all().map((s) => [s.id, s]));
}

/** The live sessions of an open engine, those the cache bound left on disk read back (cacheBytesMax). */
export async function actualStoreRead(engine: SessionEngine): Promise<Store> {
  return new Map((await engine.readAll()).map((s) => [s.id, s]));
}

/** What a crash must leave of one epoch. */
export interface EpochOracle {
  /** The store the epoch started from (already checked). */
  base: Store;
  changes: readonly Change[];
  /** Every change at or below this LSN must survive the crash. */
  keptLsn: number;
}

function liveFingerprints(store: Store, nowMs: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const [id, s] of store) if (!isExpired(s, nowMs)) out.set(id, fingerprint(s));
  return out;
}

function sameMap(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

/**
 * The k such that `actual` equals S_k (expired sessions left out) with every kept change in
 * it, or a description of why none exists.
 */
export function matchPrefix(o: EpochOracle, actual: Store, nowMs: number): { k: number } | { error: string } {
  let firstAllowed = 0;
  o.changes.forEach((c, i) => {
    if (c.lsn <= o.keptLsn) firstAllowed = i + 1;
  });
  const got = liveFingerprints(actual, nowMs);
  let cur = new Map(o.base);
  let firstAllowedState = cur;
  for (let k = 0; k <= o.changes.length; k++) {
    if (k > 0) {
      const c = o.changes[k - 1]!;
      cur = new Map(cur);
      if (c.state === undefined) cur.delete(c.id);
      else cur.set(c.id, c.state);
    }
    if (k === firstAllowed) firstAllowedState = cur;
    if (k >= firstAllowed && sameMap(liveFingerprints(cur, nowMs), got)) return { k };
  }
  const want = liveFingerprints(firstAllowedState, nowMs);
  const missing = [...want.keys()].filter((id) => !got.has(id)).length;
  const differ = [...want.keys()].filter((id) => got.has(id) && got.get(id) !== want.get(id)).length;
  const example = [...want.keys()].find((id) => got.get(id) !== want.get(id));
  const detail = example === undefined ? '' : `; e.g. ${example}: want ${want.get(example)?.slice(0, 60)}, got ${got.get(example)?.slice(0, 60) ?? 'nothing'}`;
  return {
    error: `recovered ${got.size} sessions match no allowed prefix (changes ${o.changes.length}, kept through change ${firstAllowed}, of those missing ${missing}, different ${differ})${detail}`,
  };
}
