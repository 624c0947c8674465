/**
 * The option words of SET and GETEX, parsed the way redis-server 7 parses them, with its
 * exact error texts. An expiry becomes an absolute time in ms since the epoch.
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

/** Largest expiry redis-server accepts, in ms (it refuses values that overflow a long long in ms). */
const EXPIRE_MS_MAX = Number.MAX_SAFE_INTEGER;

/** A Redis integer argument (no spaces, no '+', no leading zeros except "0"), or undefined. */
export function parseInteger(arg: Buffer): number | undefined {
  const s = arg.toString('latin1');
  if (!/^(0|-?[1-9][0-9]{0,18})$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Turns `EX n`, `PX n`, `EXAT n`, `PXAT n` into an absolute time, or an error text. */
function expiryAt(word: string, arg: Buffer | undefined, now: number, command: string): number | string {
  if (arg === undefined) return SYNTAX_ERROR;
  const n = parseInteger(arg);
  if (n === undefined) return NOT_INTEGER;
  const invalid = `ERR invalid expire time in '${command}' command`;
  if (n <= 0) return invalid;
  const ms = word === 'EX' || word === 'EXAT' ? n * 1000 : n;
  const at = word === 'EX' || word === 'PX' ? now + ms : ms;
  if (!Number.isSafeInteger(ms) || !Number.isSafeInteger(at) || at > EXPIRE_MS_MAX) return invalid;
  return at;
}

/** `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]`: args after the value. */
export function parseSetArgs(args: readonly Buffer[], now: number): SetArgs | string {
  let nx = false;
  let xx = false;
  let get = false;
  let expiry: Expiry = { kind: 'none' };
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!.toString('latin1').toUpperCase();
    if (word === 'NX' && !xx) nx = true;
    else if (word === 'XX' && !nx) xx = true;
    else if (word === 'GET') get = true;
    else if (word === 'KEEPTTL' && expiry.kind === 'none') expiry = { kind: 'keep' };
    else if ((word === 'EX' || word === 'PX' || word === 'EXAT' || word === 'PXAT') && expiry.kind === 'none') {
      const at = expiryAt(word, args[++i], now, 'set');
      if (typeof at === 'string') return at;
      expiry = { kind: 'at', atMs: at };
    } else return SYNTAX_ERROR;
  }
  return { nx, xx, get, expiry };
}

/** `GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST]`: args after the key. */
export function parseGetexArgs(args: readonly Buffer[], now: number): Expiry | string {
  let expiry: Expiry = { kind: 'keep' };
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!.toString('latin1').toUpperCase();
    if (word === 'PERSIST' && expiry.kind === 'keep') expiry = { kind: 'persist' };
    else if ((word === 'EX' || word === 'PX' || word === 'EXAT' || word === 'PXAT') && expiry.kind === 'keep') {
      const at = expiryAt(word, args[++i], now, 'getex');
      if (typeof at === 'string') return at;
      expiry = { kind: 'at', atMs: at };
    } else return SYNTAX_ERROR;
  }
  return expiry;
}
