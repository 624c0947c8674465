/**
 * Back mode's kept pending marks (`pendingKeepMs`, docs/failover.md §Guarantees (`back`
 * mode) 1; kind: integration, real PostgreSQL, local engines on the simulated file layer so
 * a power loss can be injected): a session written back keeps its durable mark, so its next
 * change is acknowledged without an fdatasync of `global-pending`, and still survives a
 * power loss; the mark is dropped, durably, before the session goes to another server (a
 * hand-over, a lost lease) and at a clean close, so a replayed mark never reports a session
 * lost that was not.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import type { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import type { GlobalOptionsInput } from '../../src/global/global-options.js';
import { PENDING_FILE } from '../../src/global/pending-journal.js';
import { quoteIdent } from '../../src/global/postgres/pg-context.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import type { PgPool } from '../../src/global/postgres/pg-types.js';
import { pgTestSchema, type PgTestSchema } from './pg-harness.js';
import { EngineFleet, inTurn } from './engine-fleet.js';
import { wrapFileSystem } from '../support/wrap-file-system.js';

let n = 0;
const fresh = (): string => `BackKeep${String(++n).padStart(4, '0')}xxxxxxxxxxxxxx`;

describe('GlobalSessionEngine (back mode): kept pending marks', () => {
  let db: PgTestSchema | undefined;
  const fleet = new EngineFleet();

  function server(name: string, fs: FileSystem = new SimFileSystem(), over: Partial<GlobalOptionsInput> = {}, pool?: PgPool): Promise<GlobalSessionEngine> {
    return db!.store({ app: 'keep', poolMax: 4, ...(pool === undefined ? {} : { postgres: pool }) }).then((store) =>
      fleet.compose(name, { postgres: { connectionString: 'unused' }, app: 'keep', mode: 'back', writeBackMs: 600_000, handoverPollMs: 200, ...over }, store, { fs, queueWaitMsMax: 5000 }),
    );
  }

  /**
   * Server `name` on a simulated file layer (wrapped by `wrap`) and a pool the test can cut;
   * `powerLoss()` crashes both, as a machine losing power, and starts the server again on what survived.
   */
  async function crashable(name: string, seed: number, over: Partial<GlobalOptionsInput>, wrap: (sim: SimFileSystem) => FileSystem = (sim) => sim) {
    const sim = new SimFileSystem(seed);
    const cut = fleet.cutPool();
    const e = await server(name, wrap(sim), over, cut);
    const powerLoss = (): Promise<GlobalSessionEngine> => {
      const survivor = sim.crash(seed + 100);
      cut.cut = true;
      return server(name, survivor);
    };
    return { e, powerLoss };
  }

  /** A new session on `e`, changed twice and written back (its mark kept). */
  async function writtenBack(e: GlobalSessionEngine): Promise<string> {
    const id = fresh();
    await e.save(id, { attributes: { n: '1' } });
    await increment(e, id);
    await e.writeBack();
    return id;
  }

  before(async () => void (db = await pgTestSchema()));
  after(() => fleet.close(db));

  const count = async (e: GlobalSessionEngine, id: string): Promise<number> => {
    const s = await e.get(id);
    return s === undefined ? 0 : Number(attributesFromBlob(s.attrs).get('n') ?? '0');
  };
  const row = async (id: string): Promise<{ n: number; owner: string } | undefined> => {
    const r = await db!.admin.query<{ attrs: Buffer; owner: string }>(`SELECT attrs, owner FROM ${quoteIdent(db!.schema)}.sessions WHERE app = 'keep' AND sid = $1 AND destroyed_ms IS NULL`, [id]);
    const x = r.rows[0];
    return x === undefined ? undefined : { n: Number(attributesFromBlob(x.attrs.toString('utf8')).get('n') ?? '0'), owner: x.owner };
  };
  const increment = (e: GlobalSessionEngine, id: string): Promise<unknown> => inTurn(e, id, async () => e.save(id, { attributes: { n: String((await count(e, id)) + 1) } }));
  /** Lets the journal's removal, started without a wait, reach the (in-memory) disk. */
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

  it('a change within pendingKeepMs of the write-back needs no fdatasync of global-pending, and a power loss still replays it', async (t) => {
    if (db === undefined) return t.skip('PostgreSQL not reachable');
    let syncs = 0;
    const countSyncs = (sim: SimFileSystem): FileSystem => wrapFileSystem(sim, (path, h) => (path.endsWith(`/${PENDING_FILE}`) ? { datasync: () => (syncs++, h.datasync()) } : {}));
    const { e: a, powerLoss } = await crashable('keep-crash', 3, { pendingKeepMs: 600_000 }, countSyncs);
    const id = await writtenBack(a);
    assert.equal((await row(id))?.n, 2);
    const before = syncs;
    await increment(a, id); // n = 3: acknowledged on the kept mark
    assert.equal(syncs, before, 'no fdatasync of global-pending for a session whose mark was kept');
    assert.equal((await a.stats()).global.writeBackPending, 1, 'pending again (counted) once changed');
    const again = await powerLoss();
    await again.writeBack();
    assert.equal((await row(id))?.n, 3, 'the change acknowledged on the kept mark reaches PostgreSQL after the restart');
    assert.equal((await again.stats()).global.writeBackLost, 0);
  });

  it('pendingKeepMs 0: the mark goes with the write-back, so the next change syncs it again', async (t) => {
    if (db === undefined) return t.skip('PostgreSQL not reachable');
    let syncs = 0;
    const fs = wrapFileSystem(new SimFileSystem(4), (path, h) => (path.endsWith(`/${PENDING_FILE}`) ? { datasync: () => (syncs++, h.datasync()) } : {}));
    const a = await server('keep-zero', fs, { pendingKeepMs: 0 });
    const id = await writtenBack(a);
    await settle();
    const before = syncs;
    await increment(a, id);
    assert.ok(syncs > before, 'the mark is synced again');
  });

  it('a mark kept past pendingKeepMs goes at the next write-back: a power loss then replays nothing', async (t) => {
    if (db === undefined) return t.skip('PostgreSQL not reachable');
    const { e: a, powerLoss } = await crashable('keep-drop', 8, { pendingKeepMs: 1 });
    await writtenBack(a);
    await settle(); // past pendingKeepMs
    await a.writeBack(); // the mark goes
    await settle();
    const again = await powerLoss();
    assert.equal((await again.stats()).global.writeBackPending, 0, 'no mark replayed');
  });

  it('a hand-over drops the kept mark before the turn goes: the old holder, crashed and restarted, reports nothing lost', async (t) => {
    if (db === undefined) return t.skip('PostgreSQL not reachable');
    const { e: a, powerLoss } = await crashable('keep-give-a', 5, { pendingKeepMs: 600_000 });
    const b = await server('keep-give-b');
    const id = await writtenBack(a);
    await increment(b, id); // handed over: b holds it, n = 3 on b
    const again = await powerLoss();
    await again.writeBack();
    assert.equal((await again.stats()).global.writeBackLost, 0, 'no mark replayed for a session handed over');
    assert.equal(await count(b, id), 3);
  });

  it('a lost lease drops the kept marks: restarted after another server changed the session, nothing is reported lost', async (t) => {
    if (db === undefined) return t.skip('PostgreSQL not reachable');
    const { e: a, powerLoss } = await crashable('keep-lapse-a', 6, { pendingKeepMs: 600_000 });
    const b = await server('keep-lapse-b');
    const id = await writtenBack(a);
    await db.expireLease('keep-lapse-a');
    await a.renewLease(); // a finds its lease lost and registers again
    await settle();
    await increment(b, id); // b inherits and changes it
    await b.writeBack();
    const again = await powerLoss();
    await again.writeBack();
    assert.equal((await again.stats()).global.writeBackLost, 0, 'a session written back before the lease was lost is not reported lost');
    assert.deepEqual(await row(id), { n: 3, owner: 'keep-lapse-b' });
  });

  it('a clean close leaves no mark: the server opened again has nothing pending', async (t) => {
    if (db === undefined) return t.skip('PostgreSQL not reachable');
    const sim = new SimFileSystem(7);
    const a = await server('keep-close', sim, { pendingKeepMs: 600_000 });
    const id = await writtenBack(a);
    await a.close();
    const again = await server('keep-close', sim);
    assert.equal((await again.stats()).global.writeBackPending, 0);
    assert.equal(await count(again, id), 2);
  });
});
