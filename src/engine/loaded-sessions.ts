import type { SessionState } from '../session/session-state.js';

/**
 * Bytes counted per loaded session beyond its attribute text and ID: the state object, its
 * Map entry, its CacheEntry and the strings' headers (docs/memory.md "What cacheBytesMax counts").
 */
export const STATE_BYTES_FIXED = 160;

/** What a loaded state counts against `cacheBytesMax`. */
export function stateBytes(s: SessionState): number {
  return STATE_BYTES_FIXED + s.id.length + s.attrs.length;
}

/**
 * One session's place in the cache: its loaded state and whether the flusher has yet to
 * take it, reached by one look-up (a write used to look the ID up in the loaded map, then
 * again to set it, then in the dirty set). An entry without a state is a dirty session
 * that is not loaded (deleted, or cold and packed: session-cache.ts); it is dropped once
 * the flusher takes it. One object per ID while it is in the map.
 */
export class CacheEntry {
  state: SessionState | undefined = undefined;
  /** In the cache's dirty list (SessionCache.markDirty), not yet taken by the flusher. */
  dirty = false;
  constructor(readonly id: string) {}
}

/**
 * The cache's map of loaded states (SessionCache.visible) that keeps their byte count, and,
 * when the cache is bounded, their order of last use: a state set or marked used moves to
 * the end, so iteration starts with the coldest (the evictor's LRU order). Unbounded, a set
 * of an existing ID keeps its place, as a plain Map does. A Map of loaded states to its
 * readers (size, iteration and get count only entries with a state); the cache's write path
 * reaches the entries themselves (entryOf, setIn).
 */
export class LoadedSessions implements Map<string, SessionState> {
  private readonly entries_ = new Map<string, CacheEntry>();
  private loaded = 0;
  /** Sum of stateBytes over every entry. */
  bytes = 0;
  /** Keep the order of last use (set by the engine when cacheBytesMax is on). */
  ordered = false;

  readonly [Symbol.toStringTag] = 'LoadedSessions';

  get size(): number {
    return this.loaded;
  }

  /** The entry of `id`, with or without a state; undefined when it has none. */
  entryOf(id: string): CacheEntry | undefined {
    return this.entries_.get(id);
  }

  /** The entry of `id`, made (without a state) when it has none. */
  entryFor(id: string): CacheEntry {
    let e = this.entries_.get(id);
    if (e === undefined) this.entries_.set(id, (e = new CacheEntry(id)));
    return e;
  }

  get(id: string): SessionState | undefined {
    return this.entries_.get(id)?.state;
  }

  has(id: string): boolean {
    return this.entries_.get(id)?.state !== undefined;
  }

  set(id: string, s: SessionState): this {
    this.setIn(this.entryFor(id), s);
    return this;
  }

  /** Sets the state of an entry of this map (entryOf, entryFor): no look-up unless ordered. */
  setIn(e: CacheEntry, s: SessionState): void {
    const old = e.state;
    if (old !== undefined) this.bytes -= stateBytes(old);
    else this.loaded++;
    if (this.ordered) this.moveToEnd(e); // set or loaded: the warm end
    this.bytes += stateBytes(s);
    e.state = s;
  }

  delete(id: string): boolean {
    const e = this.entries_.get(id);
    return e === undefined ? false : this.clearIn(e);
  }

  /** Unloads the state of an entry of this map; a dirty entry stays (the flusher takes it). */
  clearIn(e: CacheEntry): boolean {
    if (e.state === undefined) return false;
    this.bytes -= stateBytes(e.state);
    this.loaded--;
    e.state = undefined;
    if (!e.dirty) this.entries_.delete(e.id);
    return true;
  }

  /** Drops an entry that lost its state and its dirty mark (SessionCache.takeDirty). */
  dropEmpty(e: CacheEntry): void {
    if (e.state === undefined && !e.dirty && this.entries_.get(e.id) === e) this.entries_.delete(e.id);
  }

  clear(): void {
    this.bytes = 0;
    this.loaded = 0;
    this.entries_.clear();
  }

  /** Moves `id` to the warm end (a read); no-op when unordered or absent. */
  used(id: string): void {
    if (!this.ordered) return;
    const e = this.entries_.get(id);
    if (e !== undefined) this.moveToEnd(e);
  }

  private moveToEnd(e: CacheEntry): void {
    this.entries_.delete(e.id);
    this.entries_.set(e.id, e);
  }

  *entries(): MapIterator<[string, SessionState]> {
    for (const e of this.entries_.values()) if (e.state !== undefined) yield [e.id, e.state];
  }

  *keys(): MapIterator<string> {
    for (const e of this.entries_.values()) if (e.state !== undefined) yield e.id;
  }

  *values(): MapIterator<SessionState> {
    for (const e of this.entries_.values()) if (e.state !== undefined) yield e.state;
  }

  [Symbol.iterator](): MapIterator<[string, SessionState]> {
    return this.entries();
  }

  forEach(fn: (s: SessionState, id: string, map: Map<string, SessionState>) => void, thisArg?: unknown): void {
    for (const [id, s] of this.entries()) fn.call(thisArg, s, id, this);
  }
}
