/**
 * Through mode while PostgreSQL is unreachable (kind: integration, real PostgreSQL behind a
 * TCP proxy the test cuts). Nothing is acknowledged that PostgreSQL did not commit: requests
 * get SESSIOND_GLOBAL_UNAVAILABLE (503); after the cut heals, the server serves the global
 * state (not its unacknowledged local change) and, if its lease lapsed meanwhile, registers
 * again. (Serving owned sessions through an outage, G4, is not implemented yet.)
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { isSessiondError } from '../../src/errors.js';
import { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import { pgMissing, PgTestSchema } from './pg-harness.js';
import { TcpCutProxy } from './tcp-cut-proxy.js';

const ID = 'OutageSessionAAAAAAAAAAAA';
const unavailable = (e: unknown): boolean => isSessiondError(e, 'SESSIOND_GLOBAL_UNAVAILABLE');

describe('through mode while PostgreSQL is cut off', () => {
  let db: PgTestSchema | undefined;
  let proxy: TcpCutProxy;
  let cutOff: GlobalSessionEngine;
  let direct: GlobalSessionEngine;
  before(async () => {
    if ((await pgMissing()) !== undefined) return;
    db = new PgTestSchema();
    proxy = await TcpCutProxy.start();
    const open = (port: number, serverId: string): Promise<GlobalSessionEngine> =>
      GlobalSessionEngine.open({
        dir: '/s',
        fs: new SimFileSystem(),
        flushIntervalMs: 3_600_000,
        global: { postgres: { connectionString: `postgres://postgres@127.0.0.1:${port}/test` }, app: 'outage', serverId, schema: db!.schema, leaseMs: 1500, heartbeatMs: 300, poolMax: 2 },
      });
    cutOff = await open(proxy.port, 'behind-proxy');
    direct = await open(5432, 'direct');
  });
  after(async () => {
    await cutOff?.close().catch(() => undefined);
    await direct?.close().catch(() => undefined);
    await proxy?.close();
    await db?.drop();
  });
  const n = async (e: GlobalSessionEngine): Promise<string | undefined> => {
    const s = await e.get(ID);
    return s === undefined ? undefined : attributesFromBlob(s.attrs).get('n');
  };

  it('refuses with SESSIOND_GLOBAL_UNAVAILABLE instead of acknowledging, and serves the global state once healed', async (t) => {
    if (db === undefined) return t.skip('PostgreSQL not reachable');
    await cutOff.save(ID, { attributes: { n: '1' } });
    // A short cut, within the lease: the refused change must not linger in the local copy.
    const r0 = await cutOff.lock(ID); // the turn is taken; the database goes away mid-request
    proxy.cut();
    try {
      await assert.rejects(cutOff.save(ID, { attributes: { n: '2' } }), unavailable);
    } finally {
      r0();
    }
    proxy.heal();
    const r1 = await cutOff.lock(ID);
    try {
      assert.equal(await n(cutOff), '1', 'the refused change is not served after a short cut');
    } finally {
      r1();
    }
    assert.equal((await cutOff.stats()).global.leasesLost, 0);
    proxy.cut();
    await assert.rejects(cutOff.save(ID, { attributes: { n: '2' } }), unavailable);
    await assert.rejects(cutOff.get(ID), unavailable);
    await assert.rejects(cutOff.lock(ID), unavailable);
    assert.equal(await n(direct), '1', 'the unacknowledged change never reached the global store');
    await new Promise((r) => setTimeout(r, 2000)); // past the lease: the server must register again
    proxy.heal();
    await cutOff.renewLease();
    assert.ok((await cutOff.stats()).global.leasesLost >= 1);
    const release = await cutOff.lock(ID);
    try {
      assert.equal(await n(cutOff), '1', 'the local copy is replaced by the global record');
      await cutOff.save(ID, { attributes: { n: '3' } });
    } finally {
      release();
    }
    assert.equal(await n(direct), '3');
  });
});
