import type { SessionEngine } from '../engine/session-engine.js';
import { exportedFromState, exportLine, type ExportedSession } from './export-line.js';

/**
 * `sessiond export` and `GET /admin/export` (docs/operations.md "Export and import"): the
 * store's live sessions as export lines (docs/format.md §7), handed out in chunks of about
 * EXPORT_CHUNK_BYTES so the writer's backpressure bounds what is held. The set of sessions
 * and each one's state are taken at one instant (engine.all(): immutable states), so a live
 * export is a point-in-time snapshot of the store even while requests change it.
 */

export const EXPORT_CHUNK_BYTES = 64 * 1024;

/** Export lines, newline-terminated, grouped into chunks; `onSession` counts them. */
export async function* exportChunks(sessions: Iterable<ExportedSession> | AsyncIterable<ExportedSession>, onSession?: (n: number) => void): AsyncGenerator<string> {
  let chunk = '';
  let n = 0;
  for await (const s of sessions) {
    chunk += exportLine(s) + '\n';
    onSession?.(++n);
    if (chunk.length >= EXPORT_CHUNK_BYTES) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

/**
 * The live sessions of `engine`, as of now. Under `cacheBytesMax` (docs/memory.md) the
 * sessions on disk are read back one at a time without being loaded (engine.readAll), so a
 * live export of a bounded store is a snapshot of the loaded ones plus each on-disk one as
 * of its read; without a bound it is one instant, as above.
 */
export async function* engineSessions(engine: SessionEngine): AsyncGenerator<ExportedSession> {
  for (const s of await engine.readAll()) yield exportedFromState(s);
}
