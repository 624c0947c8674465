/**
 * The one error registry. Every operating error sessiond raises is a SessiondError with a
 * stable `code` from this table, a message, and the context needed to act on it.
 * docs/errors.md lists the same codes; a test keeps the two in step.
 * Broken invariants are not here: they are assertion failures (src/assert.ts).
 */

export const ERRORS = {
  SESSIOND_INVALID_OPTION: { status: 500, message: 'invalid option' },
  SESSIOND_INVALID_SESSION_ID: { status: 400, message: 'invalid session id' },
  SESSIOND_INVALID_ARGUMENT: { status: 400, message: 'invalid argument' },
  SESSIOND_SESSION_TOO_LARGE: { status: 413, message: 'session is larger than sessionBytesMax' },
  SESSIOND_ATTRIBUTE_NOT_SERIALIZABLE: { status: 500, message: 'session attribute cannot be serialized' },
  SESSIOND_SESSION_NOT_FOUND: { status: 404, message: 'no such session' },
  SESSIOND_SESSION_DESTROYED: { status: 410, message: 'session was destroyed; a late save cannot bring it back' },
  SESSIOND_SESSION_NOT_LOADED: { status: 500, message: 'the session is on disk, not in the cache: read it with engine.read()' },
  SESSIOND_QUEUE_FULL: { status: 503, message: 'too many requests are waiting for this session' },
  SESSIOND_QUEUE_TIMEOUT: { status: 503, message: 'waited too long for this session' },
  SESSIOND_OVERLOADED: { status: 503, message: 'the log writer queue is full' },
  SESSIOND_READ_ONLY: { status: 503, message: 'the store is read-only after a write failure' },
  SESSIOND_CLOSED: { status: 503, message: 'the store is closed' },
  SESSIOND_LOCKED: { status: 500, message: 'another process holds the store' },
  SESSIOND_IO: { status: 500, message: 'I/O failed' },
  SESSIOND_LOG_CORRUPT: { status: 500, message: 'the log is corrupt: acknowledged bytes are damaged' },
  SESSIOND_DB_CORRUPT: { status: 500, message: 'the database file is corrupt' },
  SESSIOND_TOMBSTONES_CORRUPT: { status: 500, message: 'the tombstone file is corrupt' },
  SESSIOND_RECORD_CORRUPT: { status: 500, message: 'a record or image payload does not decode' },
  SESSIOND_SESSION_NOT_JSON: { status: 500, message: 'the stored session is not JSON, so a framework store cannot read it' },
  SESSIOND_FORMAT_UNSUPPORTED: { status: 500, message: 'the file was written by an unsupported format version' },
  SESSIOND_FENCED: { status: 503, message: 'this server no longer owns the session (its lease lapsed or another server took it over)' },
  SESSIOND_TURN_ENDED: { status: 409, message: "the request's turn of the session was already given back (its client went away or its response finished), so its late change could overwrite a later request's" },
  SESSIOND_GLOBAL_UNAVAILABLE: { status: 503, message: 'the global session store is unreachable' },
  SESSIOND_PROTOCOL: { status: 400, message: 'a client sent bytes that are not the Redis protocol' },
  SESSIOND_KEY_MISSING: { status: 500, message: 'a sealed record names an encryption key that is not configured' },
  SESSIOND_INSECURE_BIND: { status: 500, message: 'refusing to serve a non-loopback address without a password' },
  SESSIOND_IMPORT_LINE_INVALID: { status: 400, message: 'a line of the import file is malformed; nothing was imported' },
  SESSIOND_MIGRATION_SOURCE: { status: 500, message: 'the store being migrated from cannot be read' },
  SESSIOND_KEY_MAPPING: { status: 500, message: 'the store was written by sessiond serve with another key mapping' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export type ErrorContext = Readonly<Record<string, string | number | boolean | undefined>>;

export class SessiondError extends Error {
  readonly code: ErrorCode;
  /** HTTP status an adapter answers with when this error reaches a request. */
  readonly status: number;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, detail?: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    const base = ERRORS[code].message;
    super(detail ? `${base}: ${detail}` : base, options);
    this.name = 'SessiondError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.context = Object.freeze({ ...context });
  }
}

export function isSessiondError(e: unknown, code?: ErrorCode): e is SessiondError {
  return e instanceof SessiondError && (code === undefined || e.code === code);
}

/** Wraps a file-system error (EIO, ENOSPC, EBADF ...) as SESSIOND_IO with its errno code. */
export function ioError(op: string, file: string, cause: unknown): SessiondError {
  if (cause instanceof SessiondError) return cause;
  const errno = (cause as { code?: unknown } | null)?.code;
  return new SessiondError(
    'SESSIOND_IO',
    `${op} ${file}: ${String((cause as Error)?.message ?? cause)}`,
    { op, file, errno: typeof errno === 'string' ? errno : undefined },
    { cause },
  );
}
