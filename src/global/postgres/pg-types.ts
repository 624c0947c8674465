/**
 * The little of node-postgres we use, as structural types of our own (as Kysely does), so
 * the contract and the protocol do not depend on `pg`: an application can pass its own
 * pg.Pool, and tests can pass a wrapper that counts or cuts statements.
 */

export interface PgResult<R> {
  rows: R[];
  rowCount: number | null;
}

/** A statement prepared once per connection under `name` (node-postgres's query config). */
export interface PgQueryConfig {
  name: string;
  text: string;
  values?: unknown[];
}

export interface PgQueryable {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<PgResult<R>>;
  query<R = Record<string, unknown>>(config: PgQueryConfig): Promise<PgResult<R>>;
}

export interface PgPoolClient extends PgQueryable {
  release(err?: Error | boolean): void;
  /** node-postgres clients are EventEmitters: 'notification' (LISTEN), 'error', 'end'. */
  on?(event: 'notification', cb: (m: { channel: string; payload?: string }) => void): unknown;
  on?(event: 'error' | 'end', cb: (e?: unknown) => void): unknown;
  off?(event: 'error', cb: (e?: unknown) => void): unknown;
}

export interface PgPool extends PgQueryable {
  connect(): Promise<PgPoolClient>;
  /** Connections open and not in use (pg.Pool's `idleCount`); unknown: taken as none. */
  readonly idleCount?: number;
  end(): Promise<void>;
}

/** True for an object that looks like a pg.Pool (an application's own pool). */
export function isPgPool(x: unknown): x is PgPool {
  const p = x as Partial<PgPool> | null;
  return typeof p === 'object' && p !== null && typeof p.query === 'function' && typeof p.connect === 'function' && typeof p.end === 'function';
}
