import type { SessionEngine } from '../engine/session-engine.js';
import { principalOf } from '../engine/principal-of.js';
import { SessiondError } from '../errors.js';
import { makeState, type SessionState } from '../session/session-state.js';
import type { GlobalRecord, GlobalStore, ServerLease } from './global-store.js';

/**
 * `sessionsOf` and `destroyAllOf` of the composed engine (global-session-engine.ts) across
 * every server (docs/failover.md §Sessions of a principal): the global store's principal
 * index finds the sessions of all servers; this server's own index adds what only it
 * knows (back mode: sessions it holds whose change of principal is not written back yet;
 * records written before the store kept principals).
 */

export interface PrincipalScope {
  readonly local: SessionEngine;
  readonly store: GlobalStore;
  lease(): ServerLease;
  /** Back mode: the sessions whose turn this server holds (its copy is newer than their record); undefined in through mode. */
  kept(): ReadonlySet<string> | undefined;
  view(s: SessionState | undefined): SessionState | undefined;
  /** Under the session's turn (a hand-over in back mode): destroys it if it is (still) the principal's. */
  destroyIfOf(id: string, principal: string): Promise<boolean>;
  /** The store destroyed the record: the local copy and what this server knew of it go. */
  forget(id: string): Promise<void>;
}

/** Most records one listing returns. */
const LIST_MAX = 100_000;
/** Sessions destroyed under their turn at once. */
const PARALLEL = 16;

export function checkPrincipal(principal: unknown): asserts principal is string {
  if (typeof principal !== 'string' || principal === '') {
    throw new SessiondError('SESSIOND_INVALID_ARGUMENT', 'principal must be a non-empty string', { argument: 'principal' });
  }
}

function stateOf(r: GlobalRecord): SessionState {
  return makeState(r.id, r.version, 0, r.createdAtMs, r.lastAccessAtMs, r.expiresAtMs, r.maxInactiveMs, r.owner, r.attrs, r.principal);
}

/** A record written before the store kept principals (none stored): its principal as this server's option computes it. */
function legacyPrincipal(c: PrincipalScope, r: GlobalRecord): string {
  if (r.principal !== '') return r.principal;
  try {
    return principalOf(c.local.options.principal, r.id, r.attrs);
  } catch {
    return '';
  }
}

export async function sessionsOf(c: PrincipalScope, principal: string): Promise<SessionState[]> {
  checkPrincipal(principal);
  const out = new Map<string, SessionState>();
  for (const r of await c.store.sessionsOf(principal, LIST_MAX)) out.set(r.id, stateOf(r));
  const kept = c.kept();
  for (const id of c.local.idsOf(principal)) {
    if (out.has(id) || kept?.has(id)) continue;
    const r = await c.store.load(id);
    if (r !== undefined && legacyPrincipal(c, r) === principal) out.set(id, stateOf(r));
  }
  // Back mode: what this server holds is served from its copy, which may be ahead of the record.
  for (const id of kept ?? []) {
    const s = c.local.get(id);
    if (s !== undefined && s.principal === principal) out.set(id, c.view(s)!);
    else out.delete(id);
  }
  return [...out.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The records of the principal nobody holds the turn of become tombstones in the global
 * store at once (a few statements or one script each); the rest (turns held: requests in
 * flight, back mode's held sessions; and the sessions only this server's index names) are
 * destroyed one by one under their turn, which waits for the request or asks the holder to
 * hand over, and checks the principal again. Every destroy leaves the global tombstone.
 */
export async function destroyAllOf(c: PrincipalScope, principal: string, options: { except?: string | readonly string[] } = {}): Promise<number> {
  checkPrincipal(principal);
  const except = typeof options.except === 'string' ? [options.except] : [...(options.except ?? [])];
  const keep = new Set(except);
  const r = await c.store.destroyAllOf(c.lease(), principal, except);
  for (const id of r.destroyed) await c.forget(id);
  const gone = new Set(r.destroyed);
  const rest = new Set(r.busy);
  for (const id of c.local.idsOf(principal)) if (!gone.has(id) && !keep.has(id)) rest.add(id);
  const queue = [...rest];
  let destroyed = r.destroyed.length;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
      try {
        if (await c.destroyIfOf(id, principal)) destroyed++;
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, queue.length) }, worker));
  if (failure !== undefined) throw failure;
  return destroyed;
}
