/** Number formatting for the report: what a reader compares at a glance. */

export function fmtInt(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  return Math.round(n).toLocaleString('en-US');
}

/** Milliseconds with three significant digits (0.0123, 1.23, 123). */
export function fmtMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms === 0) return '0';
  if (ms >= 100) return Math.round(ms).toString();
  return Number(ms.toPrecision(3)).toString();
}

export function fmtMiB(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '–';
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

export function fmtRatio(r: number | undefined): string {
  if (r === undefined || !Number.isFinite(r)) return '–';
  return `${r.toFixed(2)}x`;
}

/** A markdown table; every cell is escaped for pipes. */
export function mdTable(header: string[], rows: string[][]): string {
  const esc = (s: string): string => s.replaceAll('|', '\\|');
  const lines = [`| ${header.map(esc).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.map(esc).join(' | ')} |`);
  return lines.join('\n');
}
