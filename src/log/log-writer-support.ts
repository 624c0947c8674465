/** Helpers of the log writer (log-writer.ts): its fatal error and its engine callbacks. */

import { SessiondError } from '../errors.js';

/** The error a failed log write or sync leaves the writer with: fatal, never retried. */
export function readOnlyError(op: string, file: string, cause: unknown): SessiondError {
  const code = (cause as { code?: unknown } | null)?.code;
  const errno = typeof code === 'string' ? code : undefined;
  return new SessiondError('SESSIOND_READ_ONLY', `${op} of ${file} failed (${errno ?? String(cause)}); the log is not retried`, { op, file, errno }, { cause });
}

/** Calls an engine callback; a throw is a bug, so it surfaces as an uncaught exception instead of wedging the writer. */
export function notify<T>(f: ((arg: T) => void) | undefined, arg: T): void {
  if (f === undefined) return;
  try {
    f(arg);
  } catch (e) {
    queueMicrotask(() => {
      throw e;
    });
  }
}
