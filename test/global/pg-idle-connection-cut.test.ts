/**
 * The first request after a short cut heals is served (kind: integration, real PostgreSQL
 * behind a TCP proxy the test cuts, own schema; docs/failover.md §What each failure costs).
 * The pool's idle connections died in the cut; their end is in their sockets, unread. A
 * statement handed one of them would be written to a dead socket and fail with the same
 * error as a server that died after running it (a 503 that cannot be retried): the store
 * lets the pool notice first (pg-context.ts, idleChecked).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import { PG_URL, pgMissing, PgTestSchema } from './pg-harness.js';
import { TcpCutProxy, closeBehind } from './tcp-cut-proxy.js';
import { sleep } from './until.js';

const HOUR = 3_600_000;
const IDS = ['PgIdleCutAAAAAAAAAAAAAAAA', 'PgIdleCutBBBBBBBBBBBBBBBBB', 'PgIdleCutCCCCCCCCCCCCCCCC'];

describe('through mode, PostgreSQL: idle pooled connections that died in a cut', () => {
  let db: PgTestSchema | undefined;
  let proxy: TcpCutProxy | undefined;
  let pool: pg.Pool | undefined;
  let e: GlobalSessionEngine | undefined;
  before(async () => {
    if ((await pgMissing()) !== undefined) return;
    db = new PgTestSchema();
    await (await db.store({ app: 'idle-cut' })).migrate();
    proxy = await TcpCutProxy.start(Number(new URL(PG_URL).port || 5432));
    const url = new URL(PG_URL);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    pool = new pg.Pool({ connectionString: url.toString(), max: 3, application_name: db.applicationName });
    pool.on('error', () => undefined);
    e = await GlobalSessionEngine.open({
      dir: '/s',
      fs: new SimFileSystem(),
      flushIntervalMs: HOUR,
      global: { postgres: pool, schema: db.schema, app: 'idle-cut', serverId: 'idle-cut', mode: 'through', leaseMs: 30_000, inheritIntervalMs: HOUR, cleanupIntervalMs: HOUR },
    });
  });
  after(async () => {
    await closeBehind(proxy, [e]);
    await pool?.end();
    await db?.drop();
  });

  it('are not handed to the first request once it heals, however soon it comes', async (t) => {
    if (e === undefined || proxy === undefined || pool === undefined) return t.skip('PostgreSQL not reachable');
    const engine = e;
    for (let round = 0; round < 3; round++) {
      await Promise.all(IDS.map((id) => engine.save(id, { attributes: { n: String(round) } })));
      assert.ok(pool.idleCount > 0, 'the pool keeps idle connections');
      await sleep(1); // from a timer, as a request's timeout or retry would
      proxy.cut(); // every connection dies; its end reaches the pool's sockets within this loop turn, unread
      proxy.heal(); // and the database is back before anyone noticed
      await engine.save(IDS[0]!, { attributes: { n: 'after' } });
      const got = await engine.get(IDS[0]!);
      assert.equal(got === undefined ? undefined : attributesFromBlob(got.attrs).get('n'), 'after');
    }
  });
});
