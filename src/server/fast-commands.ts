import type { SessionEngine } from '../engine/session-engine.js';
import type { SessionState } from '../session/session-state.js';
import { idOfKeyAt } from './key-value.js';

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
