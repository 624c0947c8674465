/**
 * RESP replies as a small tree, and its encoding in RESP2 or RESP3 (after `HELLO 3`).
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

/** Simple strings and errors cannot hold CR or LF; redis-server replaces them with spaces too. */
function line(s: string): string {
  return /[\r\n]/.test(s) ? s.replace(/[\r\n]/g, ' ') : s;
}

/** Appends the encoding of `r` to `out` (strings are latin1 or ASCII, Buffers as they are). */
export function encodeInto(r: Reply, proto: Protocol, out: (Buffer | string)[]): void {
  switch (r.t) {
    case 'simple':
      out.push(`+${line(r.s)}\r\n`);
      return;
    case 'error':
      out.push(`-${line(r.s)}\r\n`);
      return;
    case 'int':
      out.push(`:${r.n}\r\n`);
      return;
    case 'bulk': {
      const b = typeof r.b === 'string' ? Buffer.from(r.b, 'utf8') : r.b;
      out.push(`$${b.length}\r\n`, b, '\r\n');
      return;
    }
    case 'null':
      out.push(proto === 3 ? '_\r\n' : '$-1\r\n');
      return;
    case 'array':
      out.push(`*${r.items.length}\r\n`);
      for (const item of r.items) encodeInto(item, proto, out);
      return;
    case 'map':
      out.push(proto === 3 ? `%${r.entries.length}\r\n` : `*${r.entries.length * 2}\r\n`);
      for (const [k, v] of r.entries) {
        encodeInto(k, proto, out);
        encodeInto(v, proto, out);
      }
      return;
    case 'raw':
      out.push(r.bytes);
      return;
  }
}

/** The encoding of `r` as one Buffer. */
export function encodeReply(r: Reply, proto: Protocol): Buffer {
  const parts: (Buffer | string)[] = [];
  encodeInto(r, proto, parts);
  return concatParts(parts);
}

/**
 * The parts as one Buffer, allocated once (strings are latin1: one byte a character), so
 * the replies of a whole pipeline go out in one write without a Buffer per part.
 */
export function concatParts(parts: readonly (Buffer | string)[]): Buffer {
  let bytes = 0;
  for (const p of parts) bytes += p.length;
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const p of parts) {
    if (typeof p === 'string') at += out.write(p, at, 'latin1');
    else {
      out.set(p, at);
      at += p.length;
    }
  }
  return out;
}
