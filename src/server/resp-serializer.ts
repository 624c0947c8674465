import { ReplyWriter } from './reply-writer.js';

/**
 * RESP replies as a small tree, encoded in RESP2 or RESP3 (after `HELLO 3`) by reply-writer.ts.
 * The two protocols differ here only in how they write a null (`$-1` / `_`) and a map
 * (a flat array / `%`), so the command table builds one tree for both.
 */

export type Reply =
  | { readonly t: 'simple'; readonly s: string }
  | { readonly t: 'error'; readonly s: string }
  | { readonly t: 'int'; readonly n: number }
  | { readonly t: 'bulk'; readonly b: Buffer | string }
  | { readonly t: 'null' }
  | { readonly t: 'array'; readonly items: readonly Reply[] }
  | { readonly t: 'map'; readonly entries: readonly (readonly [Reply, Reply])[] }
  /** Already encoded (the same bytes in both protocols). */
  | { readonly t: 'raw'; readonly bytes: Buffer };

export type Protocol = 2 | 3;

export const OK: Reply = { t: 'simple', s: 'OK' };
export const NULL: Reply = { t: 'null' };
export const ZERO: Reply = { t: 'int', n: 0 };
export const ONE: Reply = { t: 'int', n: 1 };

export const simple = (s: string): Reply => ({ t: 'simple', s });
/** `s` starts with the error code: "ERR syntax error", "NOAUTH Authentication required." */
export const error = (s: string): Reply => ({ t: 'error', s });
export const int = (n: number): Reply => ({ t: 'int', n });
export const bulk = (b: Buffer | string): Reply => ({ t: 'bulk', b });
export const array = (items: readonly Reply[]): Reply => ({ t: 'array', items });
export const map = (entries: readonly (readonly [Reply, Reply])[]): Reply => ({ t: 'map', entries });

/** The encoding of `r` as one Buffer (a Connection writes through the shared ReplyWriter instead). */
export function encodeReply(r: Reply, proto: Protocol): Buffer {
  const w = new ReplyWriter();
  w.reply(r, proto);
  return w.take();
}
