import type { SessionState } from '../session/session-state.js';

/**
 * Bytes counted per loaded session beyond its attribute text and ID: the state object, its
 * Map entry and the strings' headers (docs/memory.md "What cacheBytesMax counts").
 */
export const STATE_BYTES_FIXED = 160;

/** What a loaded state counts against `cacheBytesMax`. */
export function stateBytes(s: SessionState): number {
  return STATE_BYTES_FIXED + s.id.length + s.attrs.length;
}

/**
 * The cache's map of loaded states (SessionCache.visible) that keeps their byte count, and,
 * when the cache is bounded, their order of last use: a state set or marked used moves to
 * the end, so iteration starts with the coldest (the evictor's LRU order). Unbounded, a set
 * of an existing ID keeps its place, as a plain Map does.
 */
export class LoadedSessions extends Map<string, SessionState> {
  /** Sum of stateBytes over every entry. */
  bytes = 0;
  /** Keep the order of last use (set by the engine when cacheBytesMax is on). */
  ordered = false;

  override set(id: string, s: SessionState): this {
    return this.replace(id, super.get(id), s);
  }

  /** set, for a caller that has just read `old` = get(id): one look-up fewer. */
  replace(id: string, old: SessionState | undefined, s: SessionState): this {
    if (old !== undefined) {
      this.bytes -= stateBytes(old);
      if (this.ordered) super.delete(id);
    }
    this.bytes += stateBytes(s);
    return super.set(id, s);
  }

  override delete(id: string): boolean {
    const old = super.get(id);
    if (old === undefined) return false;
    this.bytes -= stateBytes(old);
    return super.delete(id);
  }

  override clear(): void {
    this.bytes = 0;
    super.clear();
  }

  /** Moves `id` to the warm end (a read); no-op when unordered or absent. */
  used(id: string, s: SessionState): void {
    if (!this.ordered) return;
    super.delete(id);
    super.set(id, s);
  }
}
