import { createHash } from 'node:crypto';
import { SessiondError } from '../../errors.js';
import type { PgPool, PgQueryable, PgResult } from './pg-types.js';

/**
 * What every statement of the PostgreSQL backend shares: the pool, the quoted table names
 * of the store's schema, the app (always `$1`), and how failures are classified.
 * Times of the protocol (leases, turns, expiry checks) are the database's `now()`, never a
 * server's clock: NOW_MS is that instant in ms since the epoch.
 */

export const NOW_MS = `(extract(epoch from now()) * 1000)::bigint`;

export interface TableNames {
  readonly schema: string;
  readonly migrations: string;
  readonly applications: string;
  readonly sessions: string;
  readonly blanks: string;
  readonly leases: string;
  readonly epochs: string;
}

/** A PostgreSQL identifier, quoted (the schema name is an option). */
export function quoteIdent(name: string): string {
  return '"' + name.replaceAll('"', '""') + '"';
}

export function tableNames(schema: string): TableNames {
  const s = quoteIdent(schema);
  return {
    schema: s,
    migrations: `${s}.migrations`,
    applications: `${s}.applications`,
    sessions: `${s}.sessions`,
    blanks: `${s}.blank_records`,
    leases: `${s}.server_leases`,
    epochs: `${s}.server_epochs`,
  };
}

/** How a new record gets its row: a blank record claimed (the seed's design) or a plain INSERT ... ON CONFLICT. */
export type RowAllocation = 'blank-records' | 'insert';

export interface PgContext {
  readonly pool: PgPool;
  readonly t: TableNames;
  readonly app: string;
  readonly allocation: RowAllocation;
  /** Blank rows added at once when none is left. */
  readonly blankBatch: number;
  /** The LISTEN/NOTIFY channel of this schema and app (hand-over requests, released turns). */
  readonly channel: string;
  /** How long a destroyed record's tombstone refuses a create of its ID (0: no tombstone, the row is freed at once). */
  readonly tombstoneMs: number;
}

/** One channel per (schema, app): a hash, since channel names are identifiers of at most 63 bytes. */
export function channelName(schema: string, app: string): string {
  return 'sessiond_' + createHash('sha256').update(`${schema}\0${app}`).digest('hex').slice(0, 24);
}

/** Turns held by a back-mode owner end only when released or when the owner's lease lapses. */
export const HELD = `'infinity'::timestamptz`;

/** `$me`/`$epoch` at parameter positions `m` and `m+1`: this server's lease is live by the database's clock. */
export function leaseLive(ctx: PgContext, m: number): string {
  return `EXISTS (SELECT 1 FROM ${ctx.t.leases} l WHERE l.app = $1 AND l.server_id = $${m} AND l.epoch = $${m + 1} AND l.expires_at > now())`;
}

/**
 * The record's owner server has no live lease under any epoch (it died, or is paused or cut
 * off past its lease). A server that restarted or registered again is alive: the rows of
 * its older epochs are its own to adopt, never another's to inherit, so a backlog it still
 * has to write back cannot be overtaken by an heir (docs/failover.md §Outage).
 */
export function ownerDead(ctx: PgContext, alias: string): string {
  return `NOT EXISTS (SELECT 1 FROM ${ctx.t.leases} l WHERE l.app = ${alias}.app AND l.server_id = ${alias}.owner AND l.expires_at > now())`;
}

/** A live record: not a tombstone, not expired (every reader and every fenced change uses it). */
export function recordLive(alias: string): string {
  return `(${alias}.destroyed_ms IS NULL AND (${alias}.until_ms IS NULL OR ${alias}.until_ms > ${NOW_MS}))`;
}

/** A tombstone still refusing a create of its ID (it lasts until until_ms, then cleanup frees the row). */
export function tombstoneLive(alias: string): string {
  return `(${alias}.destroyed_ms IS NOT NULL AND ${alias}.until_ms > ${NOW_MS})`;
}

/** A SQLSTATE from PostgreSQL (23505 unique violation ...), or undefined for a connection error. */
export function sqlState(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Runs one statement. A failure to reach the database (refused, reset, timed out, the
 * backend terminated: SQLSTATE classes 08 and 57) is SESSIOND_GLOBAL_UNAVAILABLE; SQL errors
 * are left to the caller.
 */
export async function run<R>(ctx: Pick<PgContext, 'pool'>, text: string, values: unknown[]): Promise<PgResult<R>> {
  try {
    await idleChecked(ctx.pool);
    return await ctx.pool.query<R>(text, values);
  } catch (e) {
    throw classify(e);
  }
}

/**
 * Before a statement goes to an idle pooled connection, the event loop polls once. A
 * connection that died while idle (the database restarted, a network cut) has its end in
 * the socket already, but node-postgres sees it only when the loop polls: handed out
 * before that, the statement is written to a dead socket and fails with "Connection
 * terminated unexpectedly", the very error of a server that died after running it, so it
 * cannot be retried. After the poll the pool has dropped such a connection and the
 * statement takes a live one or opens a new one. An end arriving while the statement is
 * on its way is a real race and stays a 503 (docs/failover.md §What each failure costs).
 */
function idleChecked(pool: PgPool): Promise<void> | undefined {
  if ((pool.idleCount ?? 0) === 0) return undefined;
  // The second immediate runs after the loop's next poll (one queued in the check phase waits for the next).
  return new Promise((r) => setImmediate(() => setImmediate(r)));
}

/** Names of prepared statements, by text (a few dozen texts per schema; bounded all the same). */
const preparedNames = new Map<string, string>();
const PREPARED_NAMES_MAX = 1000;

/** The statement's name: a hash of its text, so two stores on one pool (other schemas) never collide. */
function preparedName(text: string): string {
  let name = preparedNames.get(text);
  if (name === undefined) {
    if (preparedNames.size >= PREPARED_NAMES_MAX) preparedNames.clear();
    name = 'sessiond_' + createHash('sha1').update(text).digest('hex').slice(0, 24);
    preparedNames.set(text, name);
  }
  return name;
}

/** A prepared statement's text and name, built once (see `preparedStatement`). */
export interface Prepared {
  readonly name: string;
  readonly text: string;
}

/**
 * A statement of the hot path whose text depends only on the store's context (its tables,
 * its channel): built and named once per context, not at every call. A text built at each
 * call is a new string of a few kB that the name's look-up has to hash, and that
 * node-postgres compares in full with the text it prepared.
 */
export function preparedStatement<C extends object>(build: (ctx: C) => string): (ctx: C) => Prepared {
  const byContext = new WeakMap<C, Prepared>();
  return (ctx) => {
    let p = byContext.get(ctx);
    if (p === undefined) {
      const text = build(ctx);
      p = { name: preparedName(text), text };
      byContext.set(ctx, p);
    }
    return p;
  };
}

/**
 * Runs one statement of a request's hot path as a prepared statement (parsed and planned
 * once per connection, then only bound and executed), classified as `run` does.
 */
export async function runPrepared<R>(ctx: Pick<PgContext, 'pool'>, statement: string | Prepared, values: unknown[]): Promise<PgResult<R>> {
  const { name, text } = typeof statement === 'string' ? { name: preparedName(statement), text: statement } : statement;
  try {
    await idleChecked(ctx.pool);
    return await ctx.pool.query<R>({ name, text, values });
  } catch (e) {
    throw classify(e);
  }
}

/**
 * Runs `fn` in a transaction on a connection taken from the pool for it; an error rolls it
 * back. While a connection is out of the pool nobody else listens to its 'error', which
 * node-postgres emits whenever the connection drops (the backend terminated, a network cut),
 * even while the statement under way fails with it: unheard, an uncaught exception that
 * ends the process. Heard here, the connection goes back to the pool to be destroyed.
 * A refusal of `fn`'s own (SessiondError) leaves the connection usable.
 */
export async function inTransaction<T>(ctx: Pick<PgContext, 'pool'>, fn: (client: PgQueryable) => Promise<T>): Promise<T> {
  const client = await ctx.pool.connect().catch((e: unknown) => {
    throw classify(e);
  });
  let broken: Error | undefined;
  const heard = (e?: unknown): void => {
    broken ??= e instanceof Error ? e : new Error(String(e));
  };
  client.on?.('error', heard);
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (e) {
    if (!(e instanceof SessiondError)) heard(e);
    await client.query('ROLLBACK').catch(() => undefined);
    throw classify(e);
  } finally {
    client.off?.('error', heard);
    client.release(broken);
  }
}

export function classify(e: unknown): unknown {
  if (e instanceof SessiondError) return e;
  const state = sqlState(e);
  if (state === undefined || state.startsWith('08') || state.startsWith('57')) {
    const errno = (e as { code?: unknown } | null)?.code;
    return new SessiondError('SESSIOND_GLOBAL_UNAVAILABLE', String((e as Error)?.message ?? e), { backend: 'postgres', errno: typeof errno === 'string' ? errno : undefined }, { cause: e });
  }
  return e;
}

/** bigint columns arrive as strings; every value we keep fits a double exactly. */
export function num(v: unknown): number {
  return v === null || v === undefined ? 0 : Number(v);
}
