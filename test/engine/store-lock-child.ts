/**
 * Child process for the store-lock race tests (store-lock-race.test.ts). It stays alive
 * across rounds; each round arrives as an IPC message, so a round costs an open, not a
 * node start-up. All children wait for the same instant (`startAt`, on the shared
 * performance clock) and then open the store at once.
 *
 * Messages and replies (store-lock-rounds.ts):
 *   round -> { won: true, missing }   opened; `missing` = earlier rounds' saves not found;
 *                                     saved `lockround<round>` (acknowledged); holds the store
 *            { won: false, code, holderPid }  the open was refused (code and context.pid)
 *   close -> { closed: pid }          the winner closed the store
 */
import { SessionEngine } from '../../src/engine/session-engine.js';
import { isSessiondError } from '../../src/errors.js';
import { roundSessionId, type CloseMessage, type RoundMessage, type RoundReply } from './store-lock-rounds.js';

const sharedNow = (): number => performance.timeOrigin + performance.now();

/** Sleeps most of the wait, then spins, so every child leaves the barrier within a fraction of a ms. */
async function barrier(startAt: number): Promise<void> {
  const sleepMs = startAt - sharedNow() - 3;
  if (sleepMs > 0) await new Promise((r) => setTimeout(r, sleepMs));
  while (sharedNow() < startAt) {
    // spin
  }
}

let held: SessionEngine | undefined;

async function play(m: RoundMessage): Promise<RoundReply> {
  await barrier(m.startAt);
  let engine: SessionEngine;
  try {
    engine = await SessionEngine.open({ dir: m.dir, owner: 'lock-test' });
  } catch (e) {
    if (isSessiondError(e)) {
      const pid = e.context.pid;
      return { round: m.round, pid: process.pid, won: false, code: e.code, holderPid: typeof pid === 'number' ? pid : undefined };
    }
    return { round: m.round, pid: process.pid, won: false, code: 'error', holderPid: undefined, error: String((e as Error)?.stack ?? e) };
  }
  let missing = 0;
  for (let r = 0; r < m.round; r++) if (engine.get(roundSessionId(r)) === undefined) missing++;
  await engine.save(roundSessionId(m.round), { attributes: { round: String(m.round), by: String(process.pid) } });
  // In the database file now: an idle holder's flusher writes nothing later (store-lock.test.ts
  // compares the store's files across refused opens; a flush in between failed it under load).
  await engine.flush();
  held = engine;
  return { round: m.round, pid: process.pid, won: true, missing };
}

process.on('message', (m: RoundMessage | CloseMessage) => {
  if (m.type === 'round') void play(m).then((reply) => process.send!(reply));
  else
    void held!.close().then(() => {
      held = undefined;
      process.send!({ closed: process.pid });
    });
});
process.send!({ ready: process.pid });
// The parent ends a holder with SIGKILL, the others by disconnecting.
process.on('disconnect', () => {
  void (held?.close() ?? Promise.resolve()).finally(() => process.exit(0));
});
