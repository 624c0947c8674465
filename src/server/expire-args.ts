/**
 * The option words of SET, GETEX and EXPIRE/PEXPIRE, parsed the way redis-server 7 parses
 * them, with its exact error texts, in its order (test/server/server-redis-parity.test.ts
 * sends the same commands to a redis-server and compares). An expiry becomes an absolute
 * time in ms since the epoch.
 */

export type Expiry =
  /** no expiry option: the key will have none (SET) or keeps its own (GETEX) */
  | { readonly kind: 'none' }
  | { readonly kind: 'keep' }
  | { readonly kind: 'persist' }
  | { readonly kind: 'at'; readonly atMs: number };

export interface SetArgs {
  readonly nx: boolean;
  readonly xx: boolean;
  readonly get: boolean;
  readonly expiry: Expiry;
}

export const SYNTAX_ERROR = 'ERR syntax error';
export const NOT_INTEGER = 'ERR value is not an integer or out of range';

/**
 * Largest expiry kept, in ms since the epoch: the engine stores times as integers up to
 * 2^53 - 1 (year 287,396). redis-server accepts up to 2^63 - 1; a later time is refused
 * here with redis-server's "invalid expire time" (docs/server.md "Commands").
 */
const EXPIRE_MS_MAX = Number.MAX_SAFE_INTEGER;

const LLONG_MAX = 2n ** 63n - 1n;
const LLONG_MIN = -(2n ** 63n);

/**
 * A Redis integer argument as redis-server's string2ll reads it (no spaces, no '+', no
 * leading zeros except "0", within a signed 64-bit integer), as a BigInt; undefined when
 * it is not one.
 */
export function parseLongLong(arg: Buffer): bigint | undefined {
  if (arg.length === 0 || arg.length > 20) return undefined;
  const s = arg.toString('latin1');
  if (!/^(0|-?[1-9][0-9]*)$/.test(s)) return undefined;
  const n = BigInt(s);
  return n > LLONG_MAX || n < LLONG_MIN ? undefined : n;
}

/** A Redis integer argument that fits a JavaScript safe integer, or undefined (counts, cursors, versions). */
export function parseInteger(arg: Buffer): number | undefined {
  const n = parseLongLong(arg);
  return n === undefined || n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER) ? undefined : Number(n);
}

const invalidExpire = (command: string): string => `ERR invalid expire time in '${command}' command`;

type ExpiryWord = 'EX' | 'PX' | 'EXAT' | 'PXAT';

/**
 * `EX n`, `PX n`, `EXAT n`, `PXAT n` as an absolute time, or an error text
 * (redis-server's getExpireMillisecondsOrReply: n must be positive and not overflow).
 */
function expiryAt(word: ExpiryWord, arg: Buffer, now: number, command: string): number | string {
  const n = parseLongLong(arg);
  if (n === undefined) return NOT_INTEGER;
  const seconds = word === 'EX' || word === 'EXAT';
  if (n <= 0n || (seconds && n > LLONG_MAX / 1000n)) return invalidExpire(command);
  const at = (seconds ? n * 1000n : n) + (word === 'EX' || word === 'PX' ? BigInt(now) : 0n);
  if (at > LLONG_MAX || at > BigInt(EXPIRE_MS_MAX)) return invalidExpire(command);
  return Number(at);
}

function expiryWord(word: string): ExpiryWord | undefined {
  return word === 'EX' || word === 'PX' || word === 'EXAT' || word === 'PXAT' ? word : undefined;
}

/** `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]`: args after the value. */
export function parseSetArgs(args: readonly Buffer[], now: number): SetArgs | string {
  let nx = false;
  let xx = false;
  let get = false;
  let expiry: Expiry = { kind: 'none' };
  let pending: { word: ExpiryWord; arg: Buffer } | undefined;
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!.toString('latin1').toUpperCase();
    const ew = expiryWord(word);
    if (word === 'NX' && !xx) nx = true;
    else if (word === 'XX' && !nx) xx = true;
    else if (word === 'GET') get = true;
    else if (word === 'KEEPTTL' && pending === undefined) expiry = { kind: 'keep' };
    // The same expiry word again replaces the number (redis-server's rule); another one is an error.
    else if (ew !== undefined && expiry.kind === 'none' && (pending === undefined || pending.word === ew) && i + 1 < args.length) pending = { word: ew, arg: args[++i]! };
    else return SYNTAX_ERROR;
  }
  // redis-server reads every option word before the expiry's number.
  if (pending !== undefined) {
    const at = expiryAt(pending.word, pending.arg, now, 'set');
    if (typeof at === 'string') return at;
    expiry = { kind: 'at', atMs: at };
  }
  return { nx, xx, get, expiry };
}

/**
 * `GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST]`: args after the key. As in redis-server,
 * the words are checked first (SYNTAX_ERROR), the key is looked up, and only for a key that
 * exists is the number checked: `resolve(now)` turns it into the expiry or an error text.
 */
export function parseGetexArgs(args: readonly Buffer[]): { resolve(now: number): Expiry | string } | string {
  let persist = false;
  let pending: { word: ExpiryWord; arg: Buffer } | undefined;
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!.toString('latin1').toUpperCase();
    const ew = expiryWord(word);
    if (word === 'PERSIST' && pending === undefined) persist = true;
    else if (ew !== undefined && !persist && (pending === undefined || pending.word === ew) && i + 1 < args.length) pending = { word: ew, arg: args[++i]! };
    else return SYNTAX_ERROR;
  }
  return {
    resolve(now) {
      if (persist) return { kind: 'persist' };
      if (pending === undefined) return { kind: 'keep' };
      const at = expiryAt(pending.word, pending.arg, now, 'getex');
      return typeof at === 'string' ? at : { kind: 'at', atMs: at };
    },
  };
}

/** EXPIRE's conditions (Redis 7): NX no expiry yet, XX has one, GT later than it, LT earlier. */
export interface ExpireFlags {
  readonly nx: boolean;
  readonly xx: boolean;
  readonly gt: boolean;
  readonly lt: boolean;
}

/** The words after `EXPIRE key n`, or an error text (redis-server's parseExtendedExpireArgumentsOrReply). */
export function parseExpireFlags(args: readonly Buffer[]): ExpireFlags | string {
  let nx = false;
  let xx = false;
  let gt = false;
  let lt = false;
  for (const a of args) {
    const word = a.toString('latin1').toUpperCase();
    if (word === 'NX') nx = true;
    else if (word === 'XX') xx = true;
    else if (word === 'GT') gt = true;
    else if (word === 'LT') lt = true;
    else return `ERR Unsupported option ${a.toString('latin1')}`;
  }
  if (nx && (xx || gt || lt)) return 'ERR NX and XX, GT or LT options at the same time are not compatible';
  if (gt && lt) return 'ERR GT and LT options at the same time are not compatible';
  return { nx, xx, gt, lt };
}

/**
 * The absolute time of `EXPIRE key n` (unitMs 1000) or `PEXPIRE key n` (unitMs 1), or an
 * error text. A time at or before now is returned as is: the key expires at once.
 */
export function expireAt(arg: Buffer, unitMs: number, now: number, command: string): number | string {
  const n = parseLongLong(arg);
  if (n === undefined) return NOT_INTEGER;
  if (unitMs === 1000 && (n > LLONG_MAX / 1000n || n < LLONG_MIN / 1000n)) return invalidExpire(command);
  const at = n * BigInt(unitMs) + BigInt(now);
  if (at > LLONG_MAX || at > BigInt(EXPIRE_MS_MAX)) return invalidExpire(command);
  return at < 1n ? 1 : Number(at);
}

/**
 * Whether EXPIRE with `flags` changes a key whose expiry is `currentMs` (Infinity: none) to
 * `atMs`: redis-server's rules, where no expiry counts as an infinite TTL.
 */
export function expireAllowed(flags: ExpireFlags, currentMs: number, atMs: number): boolean {
  const none = currentMs === Infinity;
  if (flags.nx && !none) return false;
  if (flags.xx && none) return false;
  if (flags.gt && (none || atMs <= currentMs)) return false;
  if (flags.lt && !none && atMs >= currentMs) return false;
  return true;
}
