/**
 * The composed engine in `through` mode: 3 in-process servers (each its own local engine
 * on a simulated file layer) sharing one PostgreSQL schema (kind: integration, real PostgreSQL).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isSessiondError } from '../../src/errors.js';
import type { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import { pgTestSchema, type PgTestSchema } from './pg-harness.js';
import { EngineFleet } from './engine-fleet.js';

const ID = 'GlobalSessionAAAAAAAAAAAA';
/**
 * The 100 parallel increments of one session run one after another, so the last waits for
 * all the others: seconds on a quiet machine, past the default queueWaitMsMax (10 s) at load
 * 40, where it rightly gets SESSIOND_QUEUE_TIMEOUT. What these tests prove is that no update
 * is lost, so they wait as long as a loaded machine needs; still bounded.
 */
const QUEUE_WAIT_MS_MAX = 120_000;
let n = 0;
const fresh = (): string => `GlobalSession${String(++n).padStart(4, '0')}xxxxxxxx`;

describe('GlobalSessionEngine (through mode, PostgreSQL)', () => {
  let db: PgTestSchema | undefined;
  const fleet = new EngineFleet();
  const engines = fleet.engines;

  const server = async (name: string): Promise<GlobalSessionEngine> =>
    fleet.compose(name, { postgres: { connectionString: 'unused' }, app: 'shop' }, await db!.store({ app: 'shop', poolMax: 4 }), { queueWaitMsMax: QUEUE_WAIT_MS_MAX });

  before(async () => void (db = await pgTestSchema()));
  after(() => fleet.close(db));

  const count = async (e: GlobalSessionEngine, id: string): Promise<number> => {
    const s = await e.get(id);
    return s === undefined ? 0 : Number(attributesFromBlob(s.attrs).get('n') ?? '0');
  };

  it('100 parallel increments of one session sent round-robin to 3 servers end at 100', async (t) => {
    if (db === undefined) return t.skip('PostgreSQL not reachable');
    const servers = [await server('web-1'), await server('web-2'), await server('web-3')];
    await servers[0]!.save(ID, { attributes: { n: '0' } });
    await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const e = servers[i % 3]!;
        const release = await e.lock(ID);
        try {
          await e.save(ID, { attributes: { n: String((await count(e, ID)) + 1) } });
        } finally {
          release();
        }
      }),
    );
    for (const e of servers) assert.equal(await count(e, ID), 100);
  });

  it('a write gives the turn back in the same statement; a second change in the same request takes it again and waits its turn', async (t) => {
    if (db === undefined) return t.skip('PostgreSQL not reachable');
    const [a, b] = [engines[0]!, engines[1]!];
    const id = fresh();
    await a.save(id, { attributes: { n: '0' } });
    const events: string[] = [];
    const ra = await a.lock(id);
    await a.save(id, { attributes: { n: '1' } });
    const rb = await b.lock(id); // free at once: a's write released the turn
    events.push('b has the turn');
    const second = a.save(id, { attributes: { n: '2' } }).then(() => events.push('a saved again'));
    await new Promise((r) => setTimeout(r, 100));
    await b.save(id, { attributes: { n: '5' } });
    events.push('b saved');
    rb();
    await second;
    ra();
    assert.deepEqual(events, ['b has the turn', 'b saved', 'a saved again']);
    assert.equal(await count(b, id), 2);
  });

  it('a request that finds its own server lease lapsed registers the server again and goes on, instead of failing until the next heartbeat', async (t) => {
    if (db === undefined) return t.skip('PostgreSQL not reachable');
    const c = engines[2]!;
    const id = fresh();
    await c.save(id, { attributes: { n: '7' } });
    const lost = (await c.stats()).global.leasesLost;
    await db.expireLease('web-3');
    const release = await c.lock(id);
    try {
      assert.equal(await count(c, id), 7);
      await c.save(id, { attributes: { n: '8' } });
    } finally {
      release();
    }
    assert.equal((await c.stats()).global.leasesLost, lost + 1);
    assert.equal(await count(engines[0]!, id), 8);
  });

  it('a logout on one server is seen by every other, and a late save there does not bring it back', async (t) => {
    if (db === undefined) return t.skip('PostgreSQL not reachable');
    const [a, b] = [engines[0]!, engines[1]!];
    const id = fresh();
    await a.save(id, { attributes: { user: '"ann"' } });
    assert.equal(await count(b, id), 0);
    assert.ok((await b.get(id)) !== undefined, 'b reads it');
    const release = await b.lock(id); // b syncs its local copy, then gives the turn back
    release();
    assert.equal(await a.destroy(id), true);
    assert.equal(await b.get(id), undefined);
    const r2 = await b.lock(id);
    try {
      assert.equal(await b.get(id), undefined);
      await assert.rejects(b.save(id, { attributes: { user: '"late"' } }), (e) => isSessiondError(e, 'SESSIOND_SESSION_DESTROYED'));
    } finally {
      r2();
    }
    assert.equal(await a.get(id), undefined);
  });

  it('inherits the session of a server whose lease lapsed, keeps its creation time, and fences the old owner', async (t) => {
    if (db === undefined) return t.skip('PostgreSQL not reachable');
    const [a, b] = [engines[0]!, engines[1]!];
    const id = fresh();
    const created = await a.save(id, { attributes: { n: '1' } });
    const ra = await a.lock(id); // a holds the turn, then pauses past its lease
    await db.expireLease('web-1');
    const rb = await b.lock(id);
    try {
      assert.equal((await b.get(id))?.createdAtMs, created.createdAtMs);
      await b.save(id, { attributes: { n: '2' } });
    } finally {
      rb();
    }
    await assert.rejects(a.save(id, { attributes: { n: '99' } }), (e) => isSessiondError(e, 'SESSIOND_FENCED'));
    ra();
    assert.equal(await count(b, id), 2);
    assert.equal((await engines[2]!.get(id))?.createdAtMs, created.createdAtMs, 'the global record keeps the creation time after the heir writes');
    await a.renewLease(); // a notices, registers with a new epoch
    assert.ok((await a.stats()).global.leasesLost >= 1);
    assert.equal(await count(a, id), 2);
    await a.save(id, { attributes: { n: '3' } });
    assert.equal(await count(b, id), 3);
  });
});
