/**
 * `destroyAllOf` on a store opened with `global` (issue 12 part 1's "a save that races it
 * cannot bring one back", docs/operations.md and docs/failover.md §Tombstones): two
 * in-process servers in through mode sharing PostgreSQL, then Redis (kind: integration).
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

    it('a session only another server indexed is not found by the revoke (each server indexes what it served)', async (t) => {
      if (env === undefined) return t.skip(`${backend.name} not reachable`);
      const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
      const id = fresh();
      await b.e.save(id, { attributes: { ...alice, n: '0' } });
      assert.equal(await a.handle.destroyAllOf('alice'), 0);
      assert.ok((await a.e.get(id)) !== undefined, 'still there: revoke on every server (or on the one that served it)');
      assert.equal(await b.handle.destroyAllOf('alice'), 1);
      assert.equal(await a.e.get(id), undefined);
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
}
