import type { PrincipalOption, Logger } from '../options.js';
import { isSessiondError } from '../errors.js';
import type { SessionState } from '../session/session-state.js';
import { makeState } from '../session/session-state.js';
import { principalOf } from './principal-of.js';

/**
 * Migration from format v2 (docs/format.md §4): a session read from a v2 image or a v2 log
 * record has no principal field; it gets the one the `principal` option computes from its
 * attributes, as its next save would. Recovery marks it touched, so it is written again as
 * a v3 image (sealed when encryption is on) before the logs are reset as v3.
 */
export function withComputedPrincipal(s: SessionState, option: PrincipalOption | undefined, logger: Logger): SessionState {
  let principal = '';
  try {
    principal = principalOf(option, s.id, s.attrs);
  } catch (e) {
    // A principal function that refuses an old session must not refuse the open: none, and say so.
    if (!isSessiondError(e)) throw e;
    logger.warn('principal_not_computed', { code: e.code });
  }
  if (principal === s.principal) return s;
  return makeState(s.id, s.version, s.lsn, s.createdAtMs, s.lastAccessAtMs, s.expiresAtMs, s.maxInactiveMs, s.owner, s.attrs, principal);
}
