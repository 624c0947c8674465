/**
 * Back mode's touch (kind: integration, real PostgreSQL; local engines on the simulated file
 * layer): a read of a held session whose copy moved less than touchAfterMs ago writes
 * nothing to the local log and leaves nothing to write back (the record is not rewritten);
 * past touchAfterMs, or with touchAfterMs 0, the touch is a change like any other: logged,
 * pending, written back. Skipped or not, a touch on a server that can no longer prove its
 * lease is refused.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.js';
import { isSessiondError } from '../../src/errors.js';
import type { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import { quoteIdent } from '../../src/global/postgres/pg-context.js';
import { BackServers } from './back-server.js';

const HOUR = 3_600_000;
let n = 0;
const fresh = (): string => `BackTouch${String(++n).padStart(4, '0')}xxxxxxxxxxxxx`;

describe('GlobalSessionEngine (back mode): touch', () => {
  const servers = new BackServers();
  before(() => servers.start());
  after(() => servers.close());

  /** A back-mode server on `clock` (wall) and `mono` (the lease window's monotonic clock). */
  const server = (name: string, clock: ManualClock, over: Record<string, unknown> = {}, mono?: { ms: number }): Promise<GlobalSessionEngine> => servers.server(name, clock, over, mono);

  const record = async (id: string): Promise<{ version: number; access: number }> => {
    const r = await servers.db!.admin.query<{ version: string; access_ms: string }>(`SELECT version, access_ms FROM ${quoteIdent(servers.db!.schema)}.sessions WHERE app = 'shop' AND sid = $1`, [id]);
    return { version: Number(r.rows[0]!.version), access: Number(r.rows[0]!.access_ms) };
  };

  /** One request that reads the session and touches it (express-session's path for a read). */
  async function read(e: GlobalSessionEngine, id: string): Promise<void> {
    const release = await e.lock(id);
    try {
      assert.ok((await e.get(id)) !== undefined);
      await e.touch(id);
    } finally {
      release();
    }
  }

  it('reads within touchAfterMs write no local record and leave nothing to write back; past it the touch is logged and written back', async (t) => {
    if (servers.db === undefined) return t.skip('PostgreSQL not reachable');
    const clock = new ManualClock(Date.now());
    const a = await server('touch-back-a', clock);
    const id = fresh();
    await a.save(id, { attributes: { n: '1' } });
    await a.writeBack();
    const s0 = a.local.get(id)!;
    const r0 = await record(id);
    for (let i = 0; i < 5; i++) {
      clock.advance(Math.floor(a.global.touchAfterMs / 10));
      await read(a, id);
      assert.equal(a.local.get(id)!.lsn, s0.lsn, `read ${i}: no local touch record`);
      assert.equal((await a.stats()).global.writeBackPending, 0, `read ${i}: nothing pending`);
    }
    await a.writeBack();
    assert.deepEqual(await record(id), r0, 'the record is not rewritten');

    clock.advance(a.global.touchAfterMs);
    await read(a, id);
    const s1 = a.local.get(id)!;
    assert.notEqual(s1.lsn, s0.lsn, 'touched once touchAfterMs passed');
    assert.equal(s1.lastAccessAtMs, clock.now());
    assert.equal((await a.stats()).global.writeBackPending, 1);
    await a.writeBack();
    assert.deepEqual(await record(id), { version: r0.version + 1, access: clock.now() }, 'the access time written back');
  });

  it('touchAfterMs 0: every read touches the local copy and is written back', async (t) => {
    if (servers.db === undefined) return t.skip('PostgreSQL not reachable');
    const clock = new ManualClock(Date.now());
    const a = await server('touch-back-zero', clock, { touchAfterMs: 0 });
    const id = fresh();
    await a.save(id, { attributes: { n: '1' } });
    await a.writeBack();
    let lsn = a.local.get(id)!.lsn;
    for (let i = 0; i < 3; i++) {
      clock.advance(1);
      await read(a, id);
      assert.notEqual(a.local.get(id)!.lsn, lsn, `read ${i}: touched`);
      lsn = a.local.get(id)!.lsn;
      assert.equal((await a.stats()).global.writeBackPending, 1);
      await a.writeBack();
      assert.equal((await record(id)).access, clock.now());
    }
  });

  it('a touch, skipped or not, is refused once the server cannot prove its lease (paused past it)', async (t) => {
    if (servers.db === undefined) return t.skip('PostgreSQL not reachable');
    for (const touchAfterMs of [HOUR, 0]) {
      const clock = new ManualClock(Date.now());
      const mono = { ms: 1_000 };
      const a = await server(`touch-back-paused-${touchAfterMs}`, clock, { touchAfterMs }, mono);
      const id = fresh();
      await a.save(id, { attributes: { n: '1' } });
      const release = await a.lock(id);
      try {
        assert.ok((await a.get(id)) !== undefined);
        mono.ms += a.global.leaseMs; // the process was paused past its lease, mid-request
        await assert.rejects(a.touch(id), (e) => isSessiondError(e, 'SESSIOND_GLOBAL_UNAVAILABLE'), `touchAfterMs ${touchAfterMs}`);
      } finally {
        release();
      }
    }
  });
});
