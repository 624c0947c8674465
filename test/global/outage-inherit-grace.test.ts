/**
 * PostgreSQL out for every server, then back (kind: integration, real PostgreSQL; the outage is
 * both servers' statements failing). Every lease has lapsed when it returns. Server A
 * registers again first; B, alive, a moment later. A's background inheritance must leave B's
 * sessions to B for leaseMs, so B adopts them and writes back the change it acknowledged
 * during the outage (before: A inherited them within inheritIntervalMs and B's change was
 * reported lost). A server that is really gone is still inherited in the background after that.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import { quoteIdent } from '../../src/global/postgres/pg-context.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import { pgTestSchema, type PgTestSchema } from './pg-harness.js';
import type { CutPool } from './cut-pool.js';
import { EngineFleet, inTurn } from './engine-fleet.js';
import { sleep, until } from './until.js';


const LEASE_MS = 3000;

describe('background inheritance after an outage of PostgreSQL for every server', () => {
  let db: PgTestSchema | undefined;
  const fleet = new EngineFleet();
  before(async () => void (db = await pgTestSchema()));
  after(() => fleet.close(db));

  async function server(name: string): Promise<{ e: GlobalSessionEngine; pool: CutPool }> {
    const pool = fleet.cutPool();
    const global = { postgres: { connectionString: 'unused' }, app: 'grace', mode: 'back', leaseMs: LEASE_MS, heartbeatMs: 1000, inheritIntervalMs: 50, writeBackMs: 600_000, handoverPollMs: 100 } as const;
    const e = await fleet.compose(name, global, await db!.store({ app: 'grace', poolMax: 4, postgres: pool }));
    return { e, pool };
  }
  const liveLeases = async (): Promise<number> =>
    Number((await db!.admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteIdent(db!.schema)}.server_leases WHERE app = 'grace' AND expires_at > now()`)).rows[0]!.n);
  const row = async (id: string): Promise<{ n: string | undefined; owner: string }> => {
    const r = await db!.admin.query<{ attrs: Buffer; owner: string }>(`SELECT attrs, owner FROM ${quoteIdent(db!.schema)}.sessions WHERE app = 'grace' AND sid = $1`, [id]);
    return { n: attributesFromBlob(r.rows[0]!.attrs.toString('utf8')).get('n'), owner: r.rows[0]!.owner };
  };
  const save = (e: GlobalSessionEngine, id: string, n: string): Promise<unknown> => inTurn(e, id, () => e.save(id, { attributes: { n } }));

  it("the server that registers again first leaves the others' sessions to them for leaseMs", async (t) => {
    if (db === undefined) return t.skip('PostgreSQL not reachable');
    const a = await server('grace-a');
    const b = await server('grace-b');
    const id = 'GraceSessionBBBBBBBBBBBBBB';
    await save(b.e, id, '1'); // created at once, held by B

    a.pool.cut = b.pool.cut = true; // PostgreSQL is out for everyone
    await save(b.e, id, '2'); // B still serves what it holds while its lease provably lasts: pending
    await until('every lease lapsed', async () => (await liveLeases()) === 0, 800);

    a.pool.cut = false; // back for A first
    await a.e.renewLease(); // A registers again (its heartbeat would within heartbeatMs)
    await sleep(1000); // 20 inheritance intervals of A, well within its leaseMs grace
    assert.equal((await a.e.stats()).global.inherited, 0, "A inherits none of B's sessions in its grace");

    b.pool.cut = false; // B, alive, registers again and adopts its own rows
    await b.e.renewLease();
    await b.e.writeBack();
    const bs = (await b.e.stats()).global;
    assert.equal(bs.writeBackLost, 0, 'no change B acknowledged during the outage is lost');
    assert.deepEqual(await row(id), { n: '2', owner: 'grace-b' });

    b.pool.cut = true; // now B is gone for good: A inherits its session in the background
    await until('A inherits the session of a server really gone', async () => (await row(id)).owner === 'grace-a', 800);
    assert.equal((await row(id)).n, '2');
  });
});
