import { assert } from '../assert.js';
import { ERRORS, SessiondError, isSessiondError } from '../errors.js';
import type { SessionEngine } from '../engine/session-engine.js';
import { checkRestoredSize, restoredState, type RestoreOutcome } from '../engine/restore-plan.js';
import { lineBytesMaxFor, lineError, parseImportLine, type ExportedSession } from './export-line.js';
import { readLines } from './line-reader.js';

/**
 * `sessiond import` (docs/operations.md "Export and import"): two passes over the file.
 * The first checks every line, so a bad line refuses the whole import before anything is
 * applied; the second applies the lines with `engine.restore`, a bounded number at a time
 * (group commit), each in its session's turn. Success is reported only once everything
 * applied is in the database file (engine.flush), whatever the store's durability level.
 */

/** Lines being applied at once: enough for group commit to batch, bounded so memory is. */
export const IMPORT_IN_FLIGHT_MAX = 256;

export interface ImportSummary {
  /** Non-empty lines read. */
  lines: number;
  written: number;
  unchanged: number;
  newer: number;
  expired: number;
  destroyed: number;
}

export interface ImportOptions {
  /** Opens the file anew for each pass. */
  open: () => AsyncIterable<Uint8Array | string>;
  /** Called with the running totals, once per line of each pass ('check', then 'apply'). */
  onProgress?: (phase: 'check' | 'apply', lines: number) => void;
}

function check(s: ExportedSession, line: number, engine: SessionEngine): void {
  try {
    checkRestoredSize(restoredState(s.id, s, 1, engine.options), engine.options);
  } catch (e) {
    if (isSessiondError(e, 'SESSIOND_SESSION_TOO_LARGE')) throw lineError(line, 'attributes', `${e.message} (sessionBytesMax)`);
    throw e;
  }
}

export async function importSessions(engine: SessionEngine, o: ImportOptions): Promise<ImportSummary> {
  const lineBytesMax = lineBytesMaxFor(engine.options.sessionBytesMax);
  let lines = 0;
  for await (const { line, text } of readLines(o.open(), lineBytesMax)) {
    check(parseImportLine(text, line), line, engine);
    lines++;
    o.onProgress?.('check', lines);
  }
  const summary: ImportSummary = { lines: 0, written: 0, unchanged: 0, newer: 0, expired: 0, destroyed: 0 };
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown; line: number } | undefined;
  const apply = async (s: ExportedSession, line: number): Promise<void> => {
    try {
      const { id, ...input } = s;
      const outcome: RestoreOutcome = await engine.withSession(id, () => engine.restore(id, input));
      summary[outcome]++;
    } catch (e) {
      if (failure === undefined || line < failure.line) failure = { error: e, line };
    }
  };
  for await (const { line, text } of readLines(o.open(), lineBytesMax)) {
    if (failure !== undefined) break;
    // Parsed again: pass one kept nothing, so memory stays bounded by one line.
    const s = parseImportLine(text, line);
    const p = apply(s, line).finally(() => inFlight.delete(p));
    inFlight.add(p);
    summary.lines++;
    o.onProgress?.('apply', summary.lines);
    if (inFlight.size >= IMPORT_IN_FLIGHT_MAX) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure !== undefined) {
    const e = failure.error;
    if (!isSessiondError(e)) throw e;
    const why = e.message.startsWith(ERRORS[e.code].message + ': ') ? e.message.slice(ERRORS[e.code].message.length + 2) : e.message;
    const detail = `line ${failure.line}: ${why} (lines before it may be applied; importing the file again is safe)`;
    throw new SessiondError(e.code, detail, { ...e.context, line: failure.line }, { cause: e });
  }
  if (summary.lines !== lines) throw new SessiondError('SESSIOND_IMPORT_LINE_INVALID', `the file changed between the check and the apply (${lines} lines, then ${summary.lines})`, { line: Math.min(lines, summary.lines) + 1, field: 'line' });
  // Invariant: every applied line has exactly one outcome.
  const outcomes = summary.written + summary.unchanged + summary.newer + summary.expired + summary.destroyed;
  assert(outcomes === summary.lines, `import: ${outcomes} outcomes for ${summary.lines} lines`);
  await engine.flush();
  return summary;
}
