import type { ExportedSession } from './export-line.js';
import { migratedSession, migrationError } from './migration-session.js';
import { quoteIdent } from '../global/postgres/pg-context.js';

/**
 * `sessiond export --from-pg URL [--table session]`: the sessions connect-pg-simple keeps
 * (`sid varchar PRIMARY KEY, sess json, expire timestamp`), read in pages of
 * PG_PAGE_ROWS ordered by sid (keyset pagination: bounded memory, no long transaction).
 * Rows whose `expire` has passed are skipped (connect-pg-simple prunes them later).
 * `table` may be schema-qualified (`myschema.session`). Uses the `pg` package, loaded only here.
 */

export const PG_PAGE_ROWS = 1000;

interface PgClient {
  connect(): Promise<unknown>;
  query(sql: string, params: unknown[]): Promise<{ rows: Array<{ sid: string; sess: unknown; expire_ms: string | number | null }> }>;
  end(): Promise<unknown>;
  on(event: 'error', fn: (e: unknown) => void): unknown;
}

export function qualifiedTable(table: string): string {
  const parts = table.split('.');
  if (parts.length > 2 || parts.some((p) => p === '')) throw migrationError('postgres', `--table: expected NAME or SCHEMA.NAME, got ${JSON.stringify(table)}`);
  return parts.map(quoteIdent).join('.');
}

export async function* pgSessions(url: string, table: string, now: () => number, counts: { skipped: number }, pageRows = PG_PAGE_ROWS): AsyncGenerator<ExportedSession> {
  const source = 'postgres';
  const from = qualifiedTable(table);
  let pg: { default?: { Client: new (o: object) => PgClient }; Client?: new (o: object) => PgClient };
  try {
    pg = (await import('pg')) as unknown as typeof pg;
  } catch (e) {
    throw migrationError(source, `the pg package is not installed (npm install pg): ${(e as Error).message}`);
  }
  const Client = (pg.default ?? pg).Client!;
  const client = new Client({ connectionString: url, application_name: 'sessiond-export' });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    throw migrationError(source, `cannot connect: ${(e as Error).message}`);
  }
  try {
    let after: string | null = null;
    for (;;) {
      // sess::text, parsed here: a json column and a text column read the same way. expire is a
      // timestamp without time zone written from to_timestamp() in the session's TimeZone: cast back alike.
      const sql: string = `SELECT sid, sess::text AS sess, (extract(epoch FROM expire::timestamptz) * 1000)::float8 AS expire_ms FROM ${from}
        ${after === null ? '' : 'WHERE sid > $2'} ORDER BY sid LIMIT $1`;
      const { rows }: Awaited<ReturnType<PgClient['query']>> = await client
        .query(sql, after === null ? [pageRows] : [pageRows, after])
        .catch((e: unknown) => {
          throw migrationError(source, `reading ${table}: ${(e as Error).message}`);
        });
      const t = now();
      for (const r of rows) {
        const expireMs = r.expire_ms === null ? undefined : Math.round(Number(r.expire_ms));
        if (expireMs !== undefined && expireMs <= t) {
          counts.skipped++;
          continue;
        }
        let value: unknown;
        try {
          value = JSON.parse(r.sess as string);
        } catch {
          throw migrationError(source, `row ${r.sid}: sess is not JSON`, r.sid);
        }
        yield migratedSession(source, `row ${r.sid}`, r.sid, value, expireMs, t);
      }
      if (rows.length < pageRows) return;
      after = rows[rows.length - 1]!.sid;
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}
