import type { SessionEngine } from '../engine/session-engine.js';
import type { SessionState } from '../session/session-state.js';
import { attributesOf, idOfKeyAt } from './key-value.js';

/**
 * The commands a Connection answers from the parser's offsets (resp-parser.ts `onSpans`),
 * without a Buffer per argument, a command call or a slot: what redis-benchmark and session
 * stores send most. Each does exactly what its entry in key-commands.ts does.
 */

/** Whether argument 0 (spans[0..1] in buf) is `name` (lower case), in any case. */
export function isCommand(buf: Buffer, spans: Int32Array, name: string): boolean {
  const start = spans[0]!;
  if (spans[1]! - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) {
    if ((buf[start + i]! | 0x20) !== name.charCodeAt(i)) return false;
  }
  return true;
}

/** GET of the key at buf[start, end): the live durable state, or undefined (a nil reply). */
export function fastGet(engine: SessionEngine, buf: Buffer, start: number, end: number): SessionState | undefined {
  return engine.get(idOfKeyAt(buf, start, end));
}

/**
 * `SET key value` without options (what redis-benchmark sends; session stores add EX) for
 * the key at buf[keyStart, keyEnd) and the value at buf[valueStart, valueEnd): resolves once
 * durable. As runSet in key-commands.ts: a SET without an expiry lifts a DEL's tombstone,
 * and a save that changes nothing waits for the log if its state is not durable yet. The
 * promise chain is two `then`s, not three async functions.
 */
export function fastSet(engine: SessionEngine, buf: Buffer, keyStart: number, keyEnd: number, valueStart: number, valueEnd: number): Promise<void> {
  const id = idOfKeyAt(buf, keyStart, keyEnd);
  if (engine.isDestroyed(id)) engine.forgetDestroyed(id);
  // The engine copies what it keeps (JSON text): views into the read buffer are enough.
  const attributes = attributesOf(id, buf.subarray(keyStart, keyEnd), buf.subarray(valueStart, valueEnd));
  return engine.save(id, { attributes, expiresAtMs: 0 }).then((saved) => (engine.get(id) !== saved ? engine.whenDurable() : undefined));
}
