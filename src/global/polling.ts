import { performance } from 'node:perf_hooks';
import { SessiondError } from '../errors.js';
import { callNow } from '../util/call-now.js';

/** Longest pause between two tries at a turn another server holds (ms). */
const TURN_POLL_MS_MAX = 50;

/**
 * Tries `attempt` until it is not 'busy', pausing 1 ms doubling to TURN_POLL_MS_MAX between
 * tries; rejects with SESSIOND_QUEUE_TIMEOUT once another server held the turn for longer
 * than queueWaitMsMax. Not an async function: the first try (every request's, and nearly
 * always the only one) is answered in its own promise layer.
 */
export function pollTurn(attempt: () => Promise<'held' | 'absent' | 'busy'>, queueWaitMsMax: number): Promise<void> {
  const deadline = performance.now() + queueWaitMsMax;
  return callNow(attempt).then((a) => (a === 'busy' ? pollAgain(attempt, deadline, queueWaitMsMax) : undefined));
}

/** The tries after a first one found the turn held. */
async function pollAgain(attempt: () => Promise<'held' | 'absent' | 'busy'>, deadline: number, queueWaitMsMax: number): Promise<void> {
  for (let pause = 1; ; pause = Math.min(pause * 2, TURN_POLL_MS_MAX)) {
    if (performance.now() + pause > deadline) {
      throw new SessiondError('SESSIOND_QUEUE_TIMEOUT', 'another server holds the session', { queueWaitMsMax });
    }
    await new Promise((r) => setTimeout(r, pause));
    if ((await attempt()) !== 'busy') return;
  }
}

/**
 * A tick that forgets, at most `perTick` keys per call, the entries of `map` that `stale`
 * says are no longer needed (the global engine's known versions of sessions the local tier
 * no longer holds), so the map stays as large as the local cache at most.
 */
export function pruner(map: Map<string, unknown>, stale: (id: string) => boolean, perTick: number): () => void {
  let cursor: Iterator<string> | undefined;
  return () => {
    cursor ??= map.keys();
    for (let i = 0; i < perTick; i++) {
      const next = cursor.next();
      if (next.done === true) {
        cursor = undefined;
        return;
      }
      if (stale(next.value)) map.delete(next.value);
    }
  };
}
