/**
 * `destroyAllOf` and `sessionsOf` on a store opened with `global` (issue 12 part 1: every
 * server's sessions, and "a save that races it cannot bring one back"; docs/operations.md,
 * docs/failover.md §Sessions of a principal and §Tombstones): two in-process servers sharing
 * PostgreSQL, then Redis, in through mode and in back mode (kind: integration).
 *
 * A late save on the revoking server is refused by its local tombstone; on another server
 * that holds a local copy of the session, its next turn finds no global record, destroys
 * the copy and leaves a tombstone there; on a server that only read the session without
 * its turn (`get` reads the global record and keeps no copy), the global tombstone refuses
 * the create its save would make (before it, that save brought the session back).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { isSessiondError } from '../../src/errors.js';
import { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import { resolveGlobalOptions } from '../../src/global/global-options.js';
import type { GlobalStore } from '../../src/global/global-store.js';
import { EngineHandle } from '../../src/adapters/engine-handle.js';
import { pgMissing, PgTestSchema } from './pg-harness.js';
import { redisMissing, RedisTestPrefix } from './redis-harness.js';

interface Backend {
  name: string;
  missing: () => Promise<string | undefined>;
  open: () => { store: () => Promise<GlobalStore>; drop: () => Promise<void> };
}

const BACKENDS: Backend[] = [
  {
    name: 'PostgreSQL',
    missing: () => pgMissing(),
    open: () => {
      const db = new PgTestSchema();
      return { store: () => db.store({ app: 'revoke', poolMax: 4 }), drop: () => db.drop() };
    },
  },
  {
    name: 'Redis',
    missing: () => redisMissing(),
    open: () => {
      const r = RedisTestPrefix.standalone();
      return { store: () => r.store({ app: 'revoke' }), drop: () => r.drop() };
    },
  },
];

let n = 0;
const fresh = (): string => `RevokeGlobal${String(++n).padStart(4, '0')}xxxxxxxxxxxx`;
const alice = { user: JSON.stringify('alice') };

async function refusedOrOk(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: unknown) => (isSessiondError(e) ? e.code : String(e)),
  );
}

for (const backend of BACKENDS) {
  describe(`destroyAllOf with global (through mode, ${backend.name})`, () => {
    let env: ReturnType<Backend['open']> | undefined;
    const engines: GlobalSessionEngine[] = [];
    async function server(name: string): Promise<{ e: GlobalSessionEngine; handle: EngineHandle }> {
      const g = resolveGlobalOptions({ postgres: { connectionString: 'unused' }, app: 'revoke', serverId: name, leaseMs: 60_000, inheritIntervalMs: 3_600_000, cleanupIntervalMs: 3_600_000 }, '/s');
      const e = await GlobalSessionEngine.compose({ dir: '/s', fs: new SimFileSystem(), flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000, principal: 'user' }, g, await env!.store());
      engines.push(e);
      return { e, handle: new EngineHandle(e) };
    }
    let servers: Array<{ e: GlobalSessionEngine; handle: EngineHandle }> = [];
    before(async () => {
      if ((await backend.missing()) !== undefined) return;
      env = backend.open();
      servers = [await server('web-1'), await server('web-2')];
    });
    after(async () => {
      for (const e of engines) await e.close().catch(() => undefined);
      await env?.drop();
    });

    it('a late save on the revoking server, or on another server holding a copy, is refused: the session stays gone everywhere', async (t) => {
      if (env === undefined) return t.skip(`${backend.name} not reachable`);
      const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
      const ids = [fresh(), fresh(), fresh()];
      for (const id of ids) await a.e.save(id, { attributes: { ...alice, n: '0' } });
      // b serves the third one in a request holding its turn: b now has a local copy.
      const release = await b.e.lock(ids[2]!);
      assert.ok((await b.e.get(ids[2]!)) !== undefined);
      release();
      // In-flight requests of alice on a: each holds its session's turn while the revoke waits for it.
      const turn = await a.e.lock(ids[0]!);
      const revoke = a.handle.destroyAllOf('alice');
      const late = a.e.save(ids[0]!, { attributes: { ...alice, n: '1' } }); // inside the request, before the revoke gets the turn
      turn();
      assert.equal(await refusedOrOk(late), 'ok');
      assert.equal(await revoke, 3);
      // Late saves after the revoke, on a and on b (which had a copy): refused.
      assert.equal(await refusedOrOk(a.e.save(ids[0]!, { attributes: { ...alice, n: '2' } })), 'SESSIOND_SESSION_DESTROYED');
      assert.equal(await refusedOrOk(a.e.save(ids[1]!, { attributes: { ...alice, n: '2' } })), 'SESSIOND_SESSION_DESTROYED');
      assert.equal(await refusedOrOk(b.e.save(ids[2]!, { attributes: { ...alice, n: '2' } })), 'SESSIOND_SESSION_DESTROYED');
      for (const id of ids) for (const s of servers) assert.equal(await s.e.get(id), undefined, id);
    });

    it('a session of alice created on server b is listed and revoked from server a; except keeps the current one; a change of principal moves it', async (t) => {
      if (env === undefined) return t.skip(`${backend.name} not reachable`);
      const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
      const carol = { user: JSON.stringify('carol') };
      const [x, y, current, moved] = [fresh(), fresh(), fresh(), fresh()];
      for (const id of [x, y, current]) await b.e.save(id, { attributes: { ...carol, n: '0' } });
      await b.e.save(moved, { attributes: { user: JSON.stringify('dan') } });
      assert.deepEqual(await a.handle.sessionsOf('carol'), [x, y, current].sort(), 'a finds what only b served');
      assert.deepEqual((await a.e.sessionsOf('carol')).map((s) => [s.id, s.principal]), [x, y, current].sort().map((id) => [id, 'carol']));
      await b.e.save(moved, { attributes: carol }); // dan -> carol, on b
      await b.e.save(y, { attributes: { user: JSON.stringify('dan') } }); // carol -> dan
      assert.deepEqual(await a.handle.sessionsOf('carol'), [x, current, moved].sort());
      assert.deepEqual(await a.handle.sessionsOf('dan'), [y]);
      assert.equal(await a.handle.destroyAllOf('carol', { except: current }), 2);
      assert.deepEqual(await b.handle.sessionsOf('carol'), [current], 'b sees the revoke: only the current session is left');
      for (const id of [x, moved]) for (const s of servers) assert.equal(await s.e.get(id), undefined, id);
      assert.equal(await refusedOrOk(b.e.save(x, { attributes: { ...carol, n: '1' } })), 'SESSIOND_SESSION_DESTROYED', 'a late save on b is refused');
      assert.ok((await a.e.get(y)) !== undefined, "dan's session is untouched");
      await assert.rejects(a.e.destroyAllOf(''), (e: unknown) => isSessiondError(e, 'SESSIOND_INVALID_ARGUMENT'));
      await assert.rejects(a.e.sessionsOf(''), (e: unknown) => isSessiondError(e, 'SESSIOND_INVALID_ARGUMENT'));
    });

    it('a save racing the revoke on the other server does not bring the session back: the revoke waits for the request holding the turn', async (t) => {
      if (env === undefined) return t.skip(`${backend.name} not reachable`);
      const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
      const erin = { user: JSON.stringify('erin') };
      const [held, free] = [fresh(), fresh()];
      for (const id of [held, free]) await a.e.save(id, { attributes: { ...erin, n: '0' } });
      const turn = await b.e.lock(held); // a request of erin in flight on b
      const revoke = a.handle.destroyAllOf('erin');
      const inside = b.e.save(held, { attributes: { ...erin, n: '1' } }); // the request's own save, before it ends
      assert.equal(await refusedOrOk(inside), 'ok');
      turn();
      assert.equal(await revoke, 2);
      for (const id of [held, free]) {
        assert.equal(await refusedOrOk(b.e.save(id, { attributes: { ...erin, n: '2' } })), 'SESSIOND_SESSION_DESTROYED', id);
        for (const s of servers) assert.equal(await s.e.get(id), undefined, id);
      }
      assert.deepEqual(await b.handle.sessionsOf('erin'), []);
    });

    it('a late save on a server that only read the session (no turn, no local copy) is refused by the global tombstone', async (t) => {
      if (env === undefined) return t.skip(`${backend.name} not reachable`);
      const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
      const id = fresh();
      await a.e.save(id, { attributes: { ...alice, n: '0' } });
      assert.ok((await b.e.get(id)) !== undefined, 'b read it from the global record, without its turn');
      assert.equal(await a.handle.destroyAllOf('alice'), 1);
      assert.equal(await refusedOrOk(b.e.save(id, { attributes: { ...alice, n: '1' } })), 'SESSIOND_SESSION_DESTROYED');
      for (const s of servers) assert.equal(await s.e.get(id), undefined, 'the revoked session stays gone everywhere');
      assert.equal(await refusedOrOk(b.e.save(id, { attributes: { ...alice, n: '2' } })), 'SESSIOND_SESSION_DESTROYED', 'a retry too');
    });
  });

  describe(`destroyAllOf with global (back mode, ${backend.name})`, () => {
    let env: ReturnType<Backend['open']> | undefined;
    const engines: GlobalSessionEngine[] = [];
    let a: { e: GlobalSessionEngine; handle: EngineHandle };
    let b: { e: GlobalSessionEngine; handle: EngineHandle };
    before(async () => {
      if ((await backend.missing()) !== undefined) return;
      env = backend.open();
      const server = async (name: string): Promise<{ e: GlobalSessionEngine; handle: EngineHandle }> => {
        const g = resolveGlobalOptions({ postgres: { connectionString: 'unused' }, app: 'revoke', serverId: name, mode: 'back', leaseMs: 60_000, inheritIntervalMs: 3_600_000, cleanupIntervalMs: 3_600_000, writeBackMs: 600_000, handoverPollMs: 200 }, '/s');
        const e = await GlobalSessionEngine.compose({ dir: '/s', fs: new SimFileSystem(), flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000, principal: 'user', queueWaitMsMax: 10_000 }, g, await env!.store());
        engines.push(e);
        return { e, handle: new EngineHandle(e) };
      };
      a = await server('back-1');
      b = await server('back-2');
    });
    after(async () => {
      for (const e of engines) await e.close().catch(() => undefined);
      await env?.drop();
    });

    it('the revoke asks the server holding each session to hand it over (written back first), then destroys it; a late save there is refused', async (t) => {
      if (env === undefined) return t.skip(`${backend.name} not reachable`);
      const frank = { user: JSON.stringify('frank') };
      const [x, y, keep] = [fresh(), fresh(), fresh()];
      for (const id of [x, y, keep]) await b.e.save(id, { attributes: { ...frank, n: '0' } }); // created at once, held by b
      await b.e.save(x, { attributes: { ...frank, n: '5' } }); // acknowledged on b, not written back (writeBackMs is long)
      assert.deepEqual(await a.handle.sessionsOf('frank'), [x, y, keep].sort(), 'the records name frank from their create');
      assert.equal(await a.handle.destroyAllOf('frank', { except: [keep] }), 2);
      for (const id of [x, y]) {
        assert.equal(await refusedOrOk(b.e.save(id, { attributes: { ...frank, n: '9' } })), 'SESSIOND_SESSION_DESTROYED', id);
        for (const e of [a.e, b.e]) assert.equal(await e.get(id), undefined, id);
      }
      assert.deepEqual(await b.handle.sessionsOf('frank'), [keep]);
    });

    it('a change of principal not yet written back is found by its own server (its index), by others once written back', async (t) => {
      if (env === undefined) return t.skip(`${backend.name} not reachable`);
      const id = fresh();
      await b.e.save(id, { attributes: { user: JSON.stringify('gina') } });
      await b.e.save(id, { attributes: { user: JSON.stringify('hank') } }); // held by b, not written back
      assert.deepEqual(await b.handle.sessionsOf('hank'), [id], "b's copy is ahead of the record");
      assert.equal((await b.e.sessionsOf('hank'))[0]?.principal, 'hank');
      assert.deepEqual(await b.handle.sessionsOf('gina'), []);
      assert.deepEqual(await a.handle.sessionsOf('hank'), [], 'the window: the record still names gina until the write-back');
      assert.equal(await a.handle.destroyAllOf('gina'), 0, "the hand-over shows it is hank's now: not destroyed");
      assert.deepEqual(await a.handle.sessionsOf('hank'), [id], 'written back by the hand-over');
      assert.equal(await b.handle.destroyAllOf('hank'), 1);
      assert.equal(await a.e.get(id), undefined);
    });
  });
}
