import type { ExportedSession } from './export-line.js';
import { migratedSession, migrationError } from './migration-session.js';

/**
 * `sessiond export --from-redis URL [--prefix sess:]`: the sessions connect-redis keeps
 * (`SET prefix+sid JSON EX ttl`), read with SCAN (a batch of keys at a time: bounded
 * memory, no KEYS), MGET and PTTL. A key that vanished or is not a string between the SCAN
 * and the GET is skipped and counted; SCAN may return a key twice, and an import applies
 * the repeat as a no-op. Uses the `redis` package (node-redis), loaded only here.
 */

export const REDIS_SCAN_COUNT = 1000;
export const REDIS_CONNECT_TIMEOUT_MS = 10_000;

/** The few node-redis calls used, typed here so that sessiond does not depend on the package's types. */
interface RedisClient {
  connect(): Promise<unknown>;
  on(event: 'error', fn: (e: unknown) => void): unknown;
  scanIterator(o: { MATCH: string; COUNT: number }): AsyncIterable<string[]>;
  mGet(keys: string[]): Promise<Array<string | null>>;
  pTTL(key: string): Promise<number>;
  close?(): Promise<unknown>;
  quit?(): Promise<unknown>;
}

/** SCAN's MATCH is a glob: the prefix's own *, ?, [ and \ must match themselves. */
export function globEscape(prefix: string): string {
  return prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

export interface SourceCounts {
  /** Keys seen by SCAN but gone (or not strings) by the time they were read. */
  skipped: number;
}

export async function* redisSessions(url: string, prefix: string, now: () => number, counts: SourceCounts): AsyncGenerator<ExportedSession> {
  const source = 'redis';
  let mod: { createClient(o: { url: string; socket: object }): unknown };
  try {
    mod = (await import('redis')) as unknown as typeof mod;
  } catch (e) {
    throw migrationError(source, `the redis package is not installed (npm install redis): ${(e as Error).message}`);
  }
  // One attempt: a one-shot export fails fast instead of reconnecting forever.
  const client = mod.createClient({ url, socket: { reconnectStrategy: false, connectTimeout: REDIS_CONNECT_TIMEOUT_MS } }) as RedisClient;
  let lastError: unknown;
  client.on('error', (e) => (lastError = e));
  try {
    await client.connect();
  } catch (e) {
    throw migrationError(source, `cannot connect to ${new URL(url).host}: ${(e as Error).message ?? String(lastError)}`);
  }
  try {
    for await (const keys of client.scanIterator({ MATCH: `${globEscape(prefix)}*`, COUNT: REDIS_SCAN_COUNT })) {
      if (keys.length === 0) continue;
      const [values, ttls] = await Promise.all([client.mGet(keys), Promise.all(keys.map((k) => client.pTTL(k)))]);
      const t = now();
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const text = values[i];
        const ttl = ttls[i]!;
        if (text === null || text === undefined || ttl === -2) {
          counts.skipped++;
          continue;
        }
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          throw migrationError(source, `${key} does not hold JSON (a custom serializer?)`, key);
        }
        yield migratedSession(source, key, key.slice(prefix.length), value, ttl >= 0 ? t + ttl : undefined, t);
      }
    }
  } finally {
    await (client.close?.() ?? client.quit?.())?.catch(() => undefined);
  }
}
