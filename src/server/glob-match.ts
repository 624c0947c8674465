/**
 * Redis's glob (stringmatchlen) on latin1 strings, one char per byte: `*`, `?`, `[abc]`,
 * `[^a]`, `[a-z]` and `\` escapes. Used by SCAN MATCH and CONFIG GET.
 */
export function globMatch(pattern: string, s: string, nocase = false): boolean {
  if (nocase) {
    pattern = pattern.toLowerCase();
    s = s.toLowerCase();
  }
  return matchFrom(pattern, s);
}

/**
 * Iterative matching with one backtrack point (the last `*`): O(pattern x string) at worst,
 * so a hostile pattern cannot stall the server the way naive recursion can.
 */
function matchFrom(p: string, s: string): boolean {
  let pi = 0;
  let si = 0;
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    if (pi < p.length && p[pi] === '*') {
      starP = ++pi;
      starS = si;
      continue;
    }
    const step = pi < p.length ? matchOne(p, pi, s[si]!) : -1;
    if (step !== -1) {
      pi = step;
      si++;
    } else if (starP !== -1) {
      pi = starP;
      si = ++starS;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/** The pattern index after matching one char at `pi`, or -1 when `ch` does not match there. */
function matchOne(p: string, pi: number, ch: string): number {
  const c = p[pi]!;
  if (c === '?') return pi + 1;
  if (c === '[') {
    const r = matchClass(p, pi + 1, ch);
    return r.matched ? r.next : -1;
  }
  if (c === '\\' && pi + 1 < p.length) return p[pi + 1] === ch ? pi + 2 : -1;
  return c === ch ? pi + 1 : -1;
}

function matchClass(p: string, pi: number, ch: string): { matched: boolean; next: number } {
  const not = p[pi] === '^';
  if (not) pi++;
  let matched = false;
  while (pi < p.length && p[pi] !== ']') {
    if (p[pi] === '\\' && pi + 1 < p.length) {
      pi++;
      if (p[pi] === ch) matched = true;
    } else if (p[pi + 1] === '-' && pi + 2 < p.length && p[pi + 2] !== ']') {
      let lo = p[pi]!;
      let hi = p[pi + 2]!;
      if (lo > hi) [lo, hi] = [hi, lo];
      if (ch >= lo && ch <= hi) matched = true;
      pi += 2;
    } else if (p[pi] === ch) {
      matched = true;
    }
    pi++;
  }
  // An unterminated class ends at the end of the pattern, as in redis-server.
  return { matched: not ? !matched : matched, next: pi < p.length ? pi + 1 : pi };
}
