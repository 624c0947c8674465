import { SessiondError } from '../errors.js';
import type { Logger } from '../options.js';
import type { SessionCache } from './session-cache.js';

/**
 * Whether the engine accepts writes: open and healthy, closed, or read-only after a write or
 * fsync failed. A failed write is never retried (docs/durability.md): the store says why and
 * refuses every later change.
 */
export class EngineStatus {
  closed = false;
  /** Why the store refuses writes, or undefined while it accepts them. */
  fatal: SessiondError | undefined;

  constructor(
    private readonly cache: SessionCache,
    private readonly logger: Logger,
  ) {}

  /** A write or fsync failed: the store turns read-only; the pending heads are dropped. */
  setFatal(err: SessiondError): void {
    if (this.fatal !== undefined) return;
    this.fatal = err.code === 'SESSIOND_READ_ONLY' ? err : new SessiondError('SESSIOND_READ_ONLY', err.message, { ...err.context, cause: err.code }, { cause: err });
    this.cache.clearHeads();
    this.logger.error('store_read_only', { code: err.code, ...err.context });
  }

  /** Throws SESSIOND_CLOSED or the read-only error unless the store accepts writes. */
  checkWritable(): void {
    if (this.closed) throw new SessiondError('SESSIOND_CLOSED');
    if (this.fatal !== undefined) throw this.fatal;
  }
}
