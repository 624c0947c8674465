/**
 * Through mode's touch (kind: integration, real PostgreSQL): a touch is no new version and
 * gives the turn back in its own statement, so a read on the other server finds the turn
 * free and its copy current; a touch never undoes another server's write; a local copy
 * that expired here while the global record lives is loaded again, never served as absent.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.js';
import { isSessiondError } from '../../src/errors.js';
import type { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import { EngineHandle } from '../../src/adapters/engine-handle.js';
import type { GlobalStore } from '../../src/global/global-store.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import { pgTestSchema, type PgTestSchema } from './pg-harness.js';
import { EngineFleet } from './engine-fleet.js';

let n = 0;
const fresh = (): string => `ThroughTouch${String(++n).padStart(4, '0')}xxxxxxxxx`;

/** Counts the calls of each method of a store (the engine talks only to the contract), and the calls that completed. */
function counted(store: GlobalStore, calls: Map<string, number>, done: Map<string, number>): GlobalStore {
  const add = (m: Map<string, number>, k: string): number => m.set(k, (m.get(k) ?? 0) + 1).size;
  return new Proxy(store, {
    get(t, k, r) {
      const v = Reflect.get(t, k, r) as unknown;
      if (typeof v !== 'function') return v;
      return (...a: unknown[]) => {
        add(calls, String(k));
        const out = (v as (...x: unknown[]) => unknown).apply(t, a);
        if (out instanceof Promise) void out.then(() => add(done, String(k)), () => undefined);
        return out;
      };
    },
  });
}

describe('GlobalSessionEngine (through mode): touch', () => {
  let db: PgTestSchema | undefined;
  const fleet = new EngineFleet();

  async function server(name: string, calls = new Map<string, number>(), clock?: ManualClock, done = new Map<string, number>()): Promise<GlobalSessionEngine> {
    const store = counted(await db!.store({ app: 'shop', poolMax: 4 }), calls, done);
    return fleet.compose(name, { postgres: { connectionString: 'unused' }, app: 'shop' }, store, clock ? { clock } : {});
  }

  before(async () => void (db = await pgTestSchema()));
  after(() => fleet.close(db));

  const record = async (id: string): Promise<{ version: number; access: number; attrs: string; owner: string } | undefined> => {
    const r = await db!.admin.query<{ version: string; access_ms: string; attrs: Buffer; owner: string }>(
      `SELECT version, access_ms, attrs, owner FROM "${db!.schema}".sessions WHERE app = 'shop' AND sid = $1`,
      [id],
    );
    const row = r.rows[0];
    return row === undefined ? undefined : { version: Number(row.version), access: Number(row.access_ms), attrs: row.attrs.toString('utf8'), owner: row.owner };
  };
  const counter = (attrs: string): string | undefined => attributesFromBlob(attrs).get('n');

  it('reads alternating between two servers make no new version and copy nothing again; each touch frees the turn for the other server', async (t) => {
    if (db === undefined) return t.skip('PostgreSQL not reachable');
    const ca = new Map<string, number>();
    const cb = new Map<string, number>();
    const [a, b] = [await server('touch-a', ca), await server('touch-b', cb)];
    const id = fresh();
    await a.save(id, { attributes: { n: '1' } });
    ca.clear();
    for (let i = 0; i < 6; i++) {
      const e = i % 2 === 0 ? b : a;
      const beforeLock = e.local.get(id);
      const release = await e.lock(id);
      const copy = e.local.get(id);
      assert.equal(counter((await e.get(id))!.attrs), '1');
      await e.touch(id);
      // The other server's lock while this request has not ended: free, since the touch gave the turn back.
      const other = i % 2 === 0 ? a : b;
      const took = await Promise.race([other.lock(id), new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000))]);
      assert.ok(took !== undefined, `request ${i}: the turn is free once the touch is committed`);
      took();
      release();
      // From its second request on, each server's copy is current: the lock writes nothing locally.
      if (i >= 2) assert.equal(copy?.lsn, beforeLock?.lsn, `request ${i}: the copy synced at an earlier request was kept`);
    }
    const rec = await record(id);
    assert.equal(rec?.version, 1, 'touches are no new versions');
    // One turn per lock, no polling, no release statements (the touches released).
    assert.equal(cb.get('takeTurn'), 6);
    assert.equal(ca.get('takeTurn'), 6);
    assert.equal((ca.get('releaseTurn') ?? 0) + (cb.get('releaseTurn') ?? 0), 6, 'only the extra locks of the test released by themselves');
  });

  it('the adapters\' touch answers once the global touch gave the turn back, so the next request anywhere finds it free', async (t) => {
    if (db === undefined) return t.skip('PostgreSQL not reachable');
    const done = new Map<string, number>();
    const e = await server('handle-a', new Map(), undefined, done);
    const handle = new EngineHandle(e);
    const id = fresh();
    await e.save(id, { attributes: { n: '1' } });
    const release = await e.lock(id);
    const turn = async (): Promise<string | null> =>
      (await db!.admin.query<{ t: string | null }>(`SELECT turn_until::text AS t FROM "${db!.schema}".sessions WHERE app = 'shop' AND sid = $1`, [id])).rows[0]!.t;
    assert.notEqual(await turn(), null, 'held by the request');
    await handle.touch(id, undefined);
    assert.equal(done.get('touch'), 1, 'the global touch had completed when the adapters\' touch answered');
    assert.equal(await turn(), null, 'given back before the touch answered');
    release();
  });

  it('a touch by a server that lost the session to another fails with SESSIOND_FENCED and changes nothing', async (t) => {
    if (db === undefined) return t.skip('PostgreSQL not reachable');
    const [a, b] = [await server('zombie-a'), await server('heir-b')];
    const id = fresh();
    await a.save(id, { attributes: { n: '1' } });
    const ra = await a.lock(id); // a holds the turn, then pauses past its lease
    await db.expireLease('zombie-a');
    const rb = await b.lock(id);
    await b.save(id, { attributes: { n: '2' } });
    rb();
    const before = await record(id);
    await new Promise((r) => setTimeout(r, 5));
    await assert.rejects(a.touch(id), (e) => isSessiondError(e, 'SESSIOND_FENCED'));
    ra();
    assert.deepEqual(await record(id), before, 'neither the attributes nor the last access moved');
    assert.equal(counter(before!.attrs), '2');
    assert.equal(before?.owner, 'heir-b');
  });

  it('a local copy that expired here while the global record lives is loaded again, not served as absent', async (t) => {
    if (db === undefined) return t.skip('PostgreSQL not reachable');
    const clock = new ManualClock(Date.now());
    const [a, b] = [await server('expiry-a', new Map(), clock), await server('expiry-b')];
    const id = fresh();
    await a.save(id, { attributes: { n: '5' }, maxInactiveMs: 60_000 });
    for (let i = 0; i < 3; i++) {
      const e = i % 2 === 0 ? b : a;
      const release = await e.lock(id);
      await e.touch(id);
      release();
    }
    clock.advance(61_000); // a's copy has expired by a's clock; b kept the record alive
    assert.equal(a.local.get(id), undefined);
    const release = await a.lock(id);
    try {
      assert.equal(counter((await a.get(id))!.attrs), '5');
    } finally {
      release();
    }
  });
});
