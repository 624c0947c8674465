/**
 * A connection that drops under a transaction of the store's own (kind: integration, real
 * PostgreSQL behind a TCP proxy the test cuts, own schema). migrate() and cleanupExpired()
 * take a connection out of the pool for their transaction; node-postgres then emits 'error'
 * on it when the connection drops, besides failing the statement under way, and nothing
 * but the store listens to it there: unheard, an uncaught exception that would end a
 * server whose database restarted mid-cleanup (pg-context.ts, inTransaction). The test
 * runner fails a test on an uncaught exception; here the statement fails with
 * SESSIOND_GLOBAL_UNAVAILABLE, and the store works again once the database is back. Also
 * back mode's LISTEN connection, held out of the pool for good (handovers.ts).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { isSessiondError, SessiondError } from '../../src/errors.js';
import { inTransaction } from '../../src/global/postgres/pg-context.js';
import type { PgPool, PgPoolClient, PgResult } from '../../src/global/postgres/pg-types.js';
import type { PostgresGlobalStore } from '../../src/global/postgres/postgres-global-store.js';
import { PG_URL, pgMissing, PgTestSchema } from './pg-harness.js';
import { TcpCutProxy, closeBehind } from './tcp-cut-proxy.js';
import { sleep, until } from './until.js';

describe('PostgreSQL: the connection of a transaction drops under it', () => {
  let db: PgTestSchema | undefined;
  let proxy: TcpCutProxy | undefined;
  let store: PostgresGlobalStore | undefined;
  before(async () => {
    if ((await pgMissing()) !== undefined) return;
    db = new PgTestSchema();
    proxy = await TcpCutProxy.start(Number(new URL(PG_URL).port || 5432));
    const url = new URL(PG_URL);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    store = await db.store({ postgres: { connectionString: url.toString() }, app: 'tx-cut' });
  });
  after(async () => {
    await closeBehind(proxy, [store]);
    await db?.drop();
  });

  /** Sends `op`, holds it at the proxy from the statement containing `text`, cuts every connection, then heals. */
  async function cutUnder(op: () => Promise<unknown>, text: string): Promise<unknown> {
    const p = proxy!;
    p.stall(text);
    const outcome = op().then(
      () => undefined,
      (e: unknown) => e,
    );
    await until(`the statement with ${text} held at the proxy`, () => p.held.includes(text), 2400);
    p.cut();
    const e = await outcome;
    await sleep(50); // the connection's end and 'error' have been delivered
    p.heal();
    return e;
  }

  it('migrate fails with SESSIOND_GLOBAL_UNAVAILABLE, and runs once the database is back', async (t) => {
    if (store === undefined) return t.skip('PostgreSQL not reachable');
    const s = store;
    const e = await cutUnder(() => s.migrate(), 'pg_advisory_xact_lock');
    assert.ok(isSessiondError(e, 'SESSIOND_GLOBAL_UNAVAILABLE'), `migrate: ${String(e)}`);
    await s.migrate();
    assert.equal(await s.count(), 0);
  });

  it("back mode's LISTEN connection dropping ends its listener (no uncaught error), and a new subscription hears hand-overs once healed", async (t) => {
    if (store === undefined) return t.skip('PostgreSQL not reachable');
    const s = store;
    await s.migrate();
    const first = await s.subscribe('srv-listen', { handover: () => undefined, released: () => undefined });
    assert.equal(first.live, true);
    proxy!.cut();
    await until('the listener ends with its connection', () => !first.live);
    proxy!.heal();
    const seen: string[] = [];
    const again = await s.subscribe('srv-listen', { handover: (id) => seen.push(id), released: () => undefined });
    try {
      const a = await s.acquireLease('srv-listen', 10_000);
      const b = await s.acquireLease('srv-listen-b', 10_000);
      const id = 'ListenCutAAAAAAAAAAAAAAAA';
      await s.create(a, id, { attrs: 'x', createdAtMs: 1, lastAccessAtMs: 1, expiresAtMs: Date.now() + 60_000, maxInactiveMs: 0 }, true);
      await s.requestHandover(b, id);
      await until('the new subscription hears the hand-over request', () => seen.includes(id));
    } finally {
      await again.close();
    }
  });

  it('cleanup fails with SESSIOND_GLOBAL_UNAVAILABLE, and runs once the database is back', async (t) => {
    if (store === undefined) return t.skip('PostgreSQL not reachable');
    const s = store;
    await s.migrate();
    const e = await cutUnder(() => s.cleanupExpired(10), 'pg_try_advisory_xact_lock');
    assert.ok(isSessiondError(e, 'SESSIOND_GLOBAL_UNAVAILABLE'), `cleanup: ${String(e)}`);
    assert.equal(await s.cleanupExpired(10), 0);
  });
});

/** One pooled connection as node-postgres has it: an EventEmitter; `DROP` fails as a dropped connection does, 'error' first. */
class FakeConnection extends EventEmitter implements PgPoolClient {
  readonly sent: string[] = [];
  readonly released: unknown[] = [];
  query<R>(text: unknown): Promise<PgResult<R>> {
    this.sent.push(String(text));
    if (text !== 'DROP') return Promise.resolve({ rows: [], rowCount: 0 });
    const dropped = new Error('Connection terminated unexpectedly');
    return new Promise((_, reject) =>
      setImmediate(() => {
        this.emit('error', dropped); // with nobody listening, this throws: an uncaught exception
        reject(dropped);
      }),
    );
  }
  release(e?: Error | boolean): void {
    this.released.push(e);
  }
}

describe('inTransaction, on a pool of one connection', () => {
  const conn = new FakeConnection();
  const pool: PgPool = { connect: () => Promise.resolve(conn), query: () => Promise.reject(new Error('not used')), end: () => Promise.resolve() };

  it("listens to the connection's 'error' only while it is out of the pool", async () => {
    for (let i = 0; i < 12; i++) {
      assert.equal(await inTransaction({ pool }, async (c) => (await c.query('SELECT 1'), i)), i);
      assert.equal(conn.listenerCount('error'), 0, 'no listener left behind on a connection back in the pool');
    }
    assert.deepEqual(conn.sent.slice(0, 3), ['BEGIN', 'SELECT 1', 'COMMIT']);
    assert.deepEqual(new Set(conn.released), new Set([undefined]), 'given back for reuse');
  });

  it('a connection that dropped fails the transaction with SESSIOND_GLOBAL_UNAVAILABLE and is given back to be destroyed', async () => {
    conn.sent.length = conn.released.length = 0;
    await assert.rejects(
      inTransaction({ pool }, (c) => c.query('DROP')),
      (e) => isSessiondError(e, 'SESSIOND_GLOBAL_UNAVAILABLE'),
    );
    assert.deepEqual(conn.sent, ['BEGIN', 'DROP', 'ROLLBACK']);
    assert.equal((conn.released[0] as Error | undefined)?.message, 'Connection terminated unexpectedly');
    assert.equal(conn.listenerCount('error'), 0);
  });

  it("a refusal of the transaction's own rolls back and gives the connection back for reuse", async () => {
    conn.sent.length = conn.released.length = 0;
    const refusal = new SessiondError('SESSIOND_FORMAT_UNSUPPORTED', 'newer');
    await assert.rejects(
      inTransaction({ pool }, () => Promise.reject(refusal)),
      (e) => e === refusal,
    );
    assert.deepEqual(conn.sent, ['BEGIN', 'ROLLBACK']);
    assert.deepEqual(conn.released, [undefined]);
  });
});
