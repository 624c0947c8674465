import type { SessionEngine } from '../engine/session-engine.js';
import type { SessionState } from '../session/session-state.js';
import { saveValue } from './key-value.js';
import { NULL, OK, ONE, ZERO, type Reply } from './resp-serializer.js';

/**
 * The commands a Connection answers from the parser's offsets (resp-parser.ts `onSpans`),
 * without a Buffer per argument, a command call or a slot: what redis-benchmark and session
 * stores send most. Each does exactly what its entry in key-commands.ts does.
 */

/** Whether buf[start, end) is `word` (lower case ASCII), in any case. */
function isWord(buf: Buffer, start: number, end: number, word: string): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++) {
    if ((buf[start + i]! | 0x20) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/** Whether argument 0 (spans[0..1] in buf) is `name` (lower case), in any case. */
export function isCommand(buf: Buffer, spans: Int32Array, name: string): boolean {
  return isWord(buf, spans[0]!, spans[1]!, name);
}

/** Most digits of an EX (seconds) or PX (ms) taken here: now + the time stays a safe integer. */
const EX_DIGITS_MAX = 9;
const PX_DIGITS_MAX = 12;

/**
 * now + n seconds (`unitMs` 1000) or ms (1) for the count n at buf[start, end), when it is a
 * plain positive decimal (no sign, no leading zero) short enough that the sum cannot pass
 * what the engine keeps; undefined for anything else, which the general path parses with
 * redis-server's rules and errors (expire-args.ts).
 */
function plainExpiryAt(buf: Buffer, start: number, end: number, unitMs: number, now: number): number | undefined {
  if (end === start || end - start > (unitMs === 1000 ? EX_DIGITS_MAX : PX_DIGITS_MAX) || buf[start] === 0x30 /* '0' */) return undefined;
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]! - 0x30;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return now + n * unitMs;
}

/**
 * The expiry of `SET key value EX n` or `PX n` (arguments 3 and 4) as ms since the epoch,
 * for a plain n (plainExpiryAt); undefined for anything else. What session stores send:
 * connect-redis writes `SET sess:<id> <json> EX <ttl>`.
 */
export function simpleExpiryAt(buf: Buffer, spans: Int32Array, now: number): number | undefined {
  const wordStart = spans[6]!;
  const wordEnd = spans[7]!;
  const unitMs = isWord(buf, wordStart, wordEnd, 'ex') ? 1000 : isWord(buf, wordStart, wordEnd, 'px') ? 1 : 0;
  return unitMs === 0 ? undefined : plainExpiryAt(buf, spans[8]!, spans[9]!, unitMs, now);
}

/**
 * The time of `EXPIRE key n` or `PEXPIRE key n` (three arguments, no condition) as ms since
 * the epoch, for a plain n (plainExpiryAt: a positive n, so never "expire at once");
 * undefined for any other command or form. What connect-redis' touch sends: `EXPIRE
 * sess:<id> <ttl>`.
 */
export function simpleExpireAt(buf: Buffer, spans: Int32Array, now: number): number | undefined {
  const unitMs = isCommand(buf, spans, 'expire') ? 1000 : isCommand(buf, spans, 'pexpire') ? 1 : 0;
  return unitMs === 0 ? undefined : plainExpiryAt(buf, spans[4]!, spans[5]!, unitMs, now);
}

/**
 * OK once `saved` (a save of `id`) is durable. A save that changes nothing resolves at once
 * with the head state, which may still wait for its fsync (another connection wrote the
 * same bytes a moment ago): then it waits for the log.
 */
export function durablyOk(engine: SessionEngine, id: string, saved: Promise<SessionState>): Promise<Reply> {
  return saved.then(() => okOnceDurable(engine, id));
}

/**
 * durablyOk's answer once its save resolved: OK, or a promise of OK while a change of `id`
 * still waits for its fsync. May throw (a store turned read-only) as whenDurable does.
 */
export function okOnceDurable(engine: SessionEngine, id: string): Reply | Promise<Reply> {
  return engine.hasPending(id) ? engine.whenDurable().then(ok) : OK;
}

const ok = (): Reply => OK;

/**
 * `SET key value` with no option or with a simple expiry (`expiresAtMs`, 0 = none: see
 * simpleExpiryAt) for the key at buf[keyStart, keyEnd) (engine ID `id`, idOfKeyAt) and the
 * value at buf[valueStart, valueEnd): the save's promise, whose caller answers
 * okOnceDurable once it resolves (as durablyOk does, one promise less). As runSet in
 * key-commands.ts: during a DEL's tombstone a SET with an expiry is a late write, not
 * stored (a nil reply at once), and a SET without one lifts the tombstone.
 */
export function fastSet(engine: SessionEngine, id: string, buf: Buffer, keyStart: number, keyEnd: number, valueStart: number, valueEnd: number, expiresAtMs: number): Promise<SessionState> | Reply {
  if (engine.isDestroyed(id)) {
    if (expiresAtMs !== 0) return NULL;
    engine.forgetDestroyed(id);
  }
  // The engine copies what it keeps (JSON text): views into the read buffer are enough.
  return saveValue(engine, id, buf.subarray(keyStart, keyEnd), buf.subarray(valueStart, valueEnd), expiresAtMs);
}

/**
 * `EXPIRE key n` / `PEXPIRE key n` with a plain n (simpleExpireAt) as expireSpec in
 * key-commands.ts runs it without a condition: a blind TOUCH record of `id`, 1 once durable,
 * 0 for a key that does not exist.
 */
export function fastExpire(engine: SessionEngine, id: string, atMs: number): Promise<Reply> {
  // A then, not an async function: one promise and one turn less per EXPIRE.
  return engine.touch(id, { expiresAtMs: atMs }).then(touchedReply);
}

/** EXPIRE's answer once its touch resolved: 0 for a key that does not exist, else 1. */
export const touchedReply = (s: SessionState | undefined): Reply => (s === undefined ? ZERO : ONE);
