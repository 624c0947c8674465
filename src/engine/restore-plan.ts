import { SessiondError } from '../errors.js';
import type { EngineOptions } from '../options.js';
import { blobFromAttributes, type AttributeInput } from '../session/attributes.js';
import { putPayloadBytes } from '../session/session-encoder.js';
import { isExpired, makeState, type SessionState } from '../session/session-state.js';
import { principalOf } from './principal-of.js';
import { putPlan, type WritePlan } from './write-plan.js';

/**
 * An imported session written whole (sessiond import, docs/operations.md "Export and
 * import"): unlike a save, it keeps the times and the owner it was exported with. Decided
 * against the session's head at the moment of the append, so a concurrent save cannot
 * slip between the comparison and the write.
 */

export interface RestoreInput {
  attributes: AttributeInput;
  createdAtMs: number;
  lastAccessAtMs: number;
  /** 0 = none. */
  expiresAtMs: number;
  /** 0 = none. */
  maxInactiveMs: number;
  /** undefined: this store's owner. */
  owner?: string | undefined;
}

/**
 * written: the store now holds the imported state. unchanged: it already did. newer: the
 * store's copy was accessed later, so it is kept. expired: the imported state has expired.
 * destroyed: the ID was destroyed less than tombstoneMs ago and stays destroyed.
 */
export type RestoreOutcome = 'written' | 'unchanged' | 'newer' | 'expired' | 'destroyed';

type Limits = Pick<EngineOptions, 'sessionBytesMax' | 'owner'> & Partial<Pick<EngineOptions, 'principal' | 'encryption'>>;

/** The state an import would write (version and lsn filled in by planRestore and the append). */
export function restoredState(id: string, input: RestoreInput, version: number, limits: Limits): SessionState {
  const attrs = blobFromAttributes(input.attributes);
  return makeState(id, version, 0, input.createdAtMs, input.lastAccessAtMs, input.expiresAtMs, input.maxInactiveMs, input.owner ?? limits.owner, attrs, principalOf(limits.principal, id, attrs));
}

/** Refuses a state that would encode larger than sessionBytesMax, as a save does. */
export function checkRestoredSize(s: SessionState, limits: Limits): void {
  const bytes = putPayloadBytes(s);
  if (bytes > limits.sessionBytesMax) {
    throw new SessiondError('SESSIOND_SESSION_TOO_LARGE', `${bytes} bytes, limit ${limits.sessionBytesMax}`, { bytes, sessionBytesMax: limits.sessionBytesMax });
  }
}

function sameContent(a: SessionState, b: SessionState): boolean {
  return (
    a.attrs === b.attrs &&
    a.createdAtMs === b.createdAtMs &&
    a.lastAccessAtMs === b.lastAccessAtMs &&
    a.expiresAtMs === b.expiresAtMs &&
    a.maxInactiveMs === b.maxInactiveMs &&
    a.owner === b.owner
  );
}

/** `base`: the session's live head, if any. The store's copy wins only when accessed strictly later. */
export function planRestore(
  base: SessionState | undefined,
  id: string,
  input: RestoreInput,
  now: number,
  limits: Limits,
): { plan: WritePlan | SessionState; outcome: RestoreOutcome } {
  const state = restoredState(id, input, (base?.version ?? 0) + 1, limits);
  if (isExpired(state, now)) return { plan: base ?? state, outcome: 'expired' };
  if (base !== undefined && base.lastAccessAtMs > state.lastAccessAtMs) return { plan: base, outcome: 'newer' };
  if (base !== undefined && sameContent(base, state)) return { plan: base, outcome: 'unchanged' };
  checkRestoredSize(state, limits);
  return { plan: putPlan(state, limits), outcome: 'written' };
}
