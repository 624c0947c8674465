/**
 * Splits an inline command line into arguments the way redis-server's sdssplitargs does:
 * spaces separate, "double quotes" take \n \r \t \b \a \\ \" and \xHH escapes, 'single
 * quotes' take \'. A closing quote must be followed by a space or the end of the line.
 * Works on latin1 strings (one char per byte). Returns undefined for unbalanced quotes.
 */
export function splitInlineArgs(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    while (i < n && isSpace(line.charCodeAt(i))) i++;
    if (i >= n) return out;
    let cur = '';
    let inDouble = false;
    let inSingle = false;
    for (;;) {
      if (inDouble) {
        if (i >= n) return undefined;
        const c = line[i]!;
        if (c === '\\' && line[i + 1] === 'x' && isHex(line[i + 2]) && isHex(line[i + 3])) {
          cur += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
          i += 3;
        } else if (c === '\\' && i + 1 < n) {
          i++;
          cur += ESCAPES[line[i]!] ?? line[i]!;
        } else if (c === '"') {
          if (i + 1 < n && !isSpace(line.charCodeAt(i + 1))) return undefined;
          inDouble = false;
          i++;
          break;
        } else {
          cur += c;
        }
      } else if (inSingle) {
        if (i >= n) return undefined;
        const c = line[i]!;
        if (c === '\\' && line[i + 1] === "'") {
          i++;
          cur += "'";
        } else if (c === "'") {
          if (i + 1 < n && !isSpace(line.charCodeAt(i + 1))) return undefined;
          inSingle = false;
          i++;
          break;
        } else {
          cur += c;
        }
      } else {
        if (i >= n) break;
        const c = line[i]!;
        if (isSpace(line.charCodeAt(i))) break;
        if (c === '"') inDouble = true;
        else if (c === "'") inSingle = true;
        else cur += c;
      }
      i++;
    }
    out.push(cur);
  }
}

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', b: '\b', a: '\x07' };

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
}

function isHex(c: string | undefined): boolean {
  return c !== undefined && /^[0-9a-fA-F]$/.test(c);
}
