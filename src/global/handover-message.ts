import type { HandoverEvents, HandoverListener } from './global-store.js';

/**
 * Back mode's hand-over messages, the same on every backend (PostgreSQL NOTIFY payloads,
 * Redis pub/sub messages): JSON arrays, since IDs may hold any character —
 * `["h", owner, sid]` (the owner is asked to hand the session over) and `["r", sid]` (the
 * session's turn was released). Anything else is ignored.
 */
export function deliverHandoverMessage(text: string, serverId: string, on: HandoverEvents): void {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return;
  }
  if (!Array.isArray(m)) return;
  if (m[0] === 'h' && m[1] === serverId && typeof m[2] === 'string') on.handover(m[2]);
  else if (m[0] === 'r' && typeof m[1] === 'string') on.released(m[1]);
}

/** A listener that is live until closed once; `end` releases its connection. */
export function handoverListener(end: () => void): HandoverListener {
  let closed = false;
  return {
    get live() {
      return !closed;
    },
    close: () => {
      if (!closed) {
        closed = true;
        end();
      }
      return Promise.resolve();
    },
  };
}
