import { assert } from '../assert.js';
import type { SessionState } from '../session/session-state.js';

/**
 * The principal index (SPEC B5): principal → IDs of the sessions the cache holds for it.
 * Never stored on its own: recovery rebuilds it from the principal field every record and
 * image carries (docs/format.md §3), and the cache moves an ID on every visible change
 * (save, destroy, expiry), so it can never name a session that is gone. An empty set is
 * dropped at once: its size is bounded by the sessions it indexes.
 */
export class PrincipalIndex {
  private readonly byPrincipal = new Map<string, Set<string>>();
  private entries = 0;

  /** `id` moved from principal `before` to `after` ('' = none). */
  move(id: string, before: string, after: string): void {
    if (before === after) return;
    if (before !== '') {
      const set = this.byPrincipal.get(before);
      // Invariant: the index holds exactly the visible sessions with a principal.
      assert(set?.delete(id) === true, `principal index lost a session (${before.length} chars)`);
      this.entries--;
      if (set.size === 0) this.byPrincipal.delete(before);
    }
    if (after !== '') {
      let set = this.byPrincipal.get(after);
      if (set === undefined) this.byPrincipal.set(after, (set = new Set()));
      set.add(id);
      this.entries++;
    }
  }

  /** Rebuilds it from every visible session (after recovery filled the cache). */
  rebuild(sessions: Iterable<SessionState>): void {
    this.byPrincipal.clear();
    this.entries = 0;
    for (const s of sessions) this.move(s.id, '', s.principal);
  }

  ids(principal: string): ReadonlySet<string> {
    return this.byPrincipal.get(principal) ?? EMPTY;
  }

  get principals(): number {
    return this.byPrincipal.size;
  }

  get sessions(): number {
    return this.entries;
  }
}

const EMPTY: ReadonlySet<string> = new Set();
