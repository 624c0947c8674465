/**
 * A real Redis Cluster failover that loses sessions entirely (kind: integration, a cluster
 * of 3 masters + 3 replicas started by the test, through mode, no replicaAckMs). The
 * sessions' master has no replica that saw them: its replica is stopped (SIGSTOP) and the
 * master drops its replication link before they are created (so not even the replica's
 * socket buffer holds their writes), the master is killed -9, and the replica, resumed, is
 * promoted without them. redis-lost-record.test.ts makes the same loss with DEL; this is the
 * failover CI once saw in redis-master-kill-repair (saves refused 410 for 90 s), every time.
 */
import { it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import { resolveGlobalOptions } from '../../src/global/global-options.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import { isSessiondError } from '../../src/errors.js';
import type { RedisTestPrefix } from './redis-harness.js';
import { clusterToolsMissing, TestCluster } from './redis-cluster-harness.js';
import { sleep } from './until.js';

const run = promisify(execFile);
const cli = async (port: number, ...args: string[]): Promise<string> => (await run('redis-cli', ['-p', String(port), ...args])).stdout.trim();
const APP = 'clost';
/** How long the servers' clients may take to find the promoted replica (a few hundred ms on a quiet machine). */
const RECONNECT_MS_MAX = 30_000;

let cluster: TestCluster | undefined;
let r: RedisTestPrefix | undefined;
let paused: number | undefined;
const engines: GlobalSessionEngine[] = [];
after(async () => {
  if (paused !== undefined) cluster?.kill(paused, 'SIGCONT');
  for (const e of engines) await e.close().catch(() => undefined);
  await r?.drop().catch(() => undefined);
  await cluster?.stop();
});

/** `count` session IDs whose slots one master serves, not `avoid` (the master of the servers' leases). */
async function idsOnOneMaster(c: TestCluster, avoid: number, count: number): Promise<{ master: number; ids: string[] }> {
  let master: number | undefined;
  const ids: string[] = [];
  for (let i = 0; ids.length < count; i++) {
    const id = `ClusterLostRecord${String(i).padStart(9, '0')}`;
    const port = await c.masterOf(`{${APP}:${id}}`);
    if (port === avoid || (master !== undefined && port !== master)) continue;
    master = port;
    ids.push(id);
  }
  return { master: master!, ids };
}

it('a failover to a replica that never had a session: the owner puts it back as acknowledged, an older copy does not revert it, a destroyed one stays destroyed', async (t) => {
  if ((await clusterToolsMissing()) !== undefined) return t.skip('redis-server / redis-cli missing');
  cluster = await TestCluster.start();
  const c = cluster;
  const p = c.prefix();
  r = p;
  const events: string[] = [];
  async function server(name: string): Promise<GlobalSessionEngine> {
    const logger = { info() {}, error() {}, warn: (event: string) => void events.push(`${name} ${event}`) };
    const g = resolveGlobalOptions({ redisCluster: { rootNodes: c.urls }, keyPrefix: p.prefix, app: APP, serverId: name, leaseMs: 30_000, inheritIntervalMs: 3_600_000, cleanupIntervalMs: 3_600_000 }, '/s');
    const e = await GlobalSessionEngine.compose({ dir: '/s', fs: new SimFileSystem(), flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000, logger }, g, await p.store({ app: APP, timeoutMs: 1000, tombstoneMs: g.tombstoneMs }));
    engines.push(e);
    return e;
  }
  const a = await server('web-a');
  const b = await server('web-b');
  // The sessions' master is not the leases' (a lost lease renewal is another failure).
  const { master, ids } = await idsOnOneMaster(c, await c.masterOf(`{${APP}}`), 3);
  const [kept, gone, probe] = ids as [string, string, string];
  const key = (id: string): string => `${p.prefix}{${APP}:${id}}`;
  const [replica, ...more] = await c.replicasOf(master);
  assert.ok(replica !== undefined && more.length === 0, `one replica of ${master}`);

  // From here on the replica gets nothing. It may fail over however old its data (a replica
  // stopped longer than about 10 node timeouts would otherwise refuse to).
  await cli(replica, 'CONFIG', 'SET', 'cluster-replica-validity-factor', '0');
  c.kill(replica, 'SIGSTOP');
  paused = replica;
  assert.equal(await cli(master, 'CLIENT', 'KILL', 'TYPE', 'replica'), '1');

  // kept: b creates it (b's copy stays at version 1), a acknowledges versions 2 and 3.
  await b.save(kept, { attributes: { n: '1' } });
  await a.save(kept, { attributes: { n: '2' } });
  await a.save(kept, { attributes: { n: '3' } });
  // gone: a creates it, b saves it (b's copy at version 2), a destroys it (acknowledged).
  await a.save(gone, { attributes: { n: '1' } });
  await b.save(gone, { attributes: { n: '2' } });
  assert.equal(await a.destroy(gone), true);
  assert.equal(await cli(master, 'HGET', key(kept), 'v'), '3');
  assert.notEqual(await cli(master, 'HGET', key(gone), 'd'), '', 'the master holds the tombstone');

  c.kill(master);
  c.kill(replica, 'SIGCONT');
  paused = undefined;
  await c.waitFailover(master);
  // The scenario happened: the promoted replica has neither the record nor the tombstone.
  assert.match(await cli(replica, 'INFO', 'replication'), /role:master/);
  for (const id of [kept, gone]) assert.equal(await cli(replica, 'EXISTS', key(id)), '0', `the promoted replica must never have seen ${id} (else this test proves nothing)`);

  // The servers' clients find the new master (503 until then; a read of another session changes nothing).
  for (const e of [a, b]) {
    const end = performance.now() + RECONNECT_MS_MAX;
    for (;;) {
      const err = await e.get(probe).then(() => undefined, (x: unknown) => x);
      if (err === undefined) break;
      if (!isSessiondError(err, 'SESSIOND_GLOBAL_UNAVAILABLE') || performance.now() > end) throw err;
      await sleep(100);
    }
  }
  const n = (attrs: string | undefined): string | undefined => (attrs === undefined ? undefined : attributesFromBlob(attrs).get('n'));
  const reader = await p.store({ app: APP });
  const state = async (id: string): Promise<[string | undefined, number | undefined]> => {
    const rec = await reader.load(id);
    return [n(rec?.attrs), rec?.version];
  };

  // The owner's next save is acknowledged: the record put back at version 3, then written.
  const saved = await a.save(kept, { attributes: { n: '4' } });
  assert.equal(saved.version, 4);
  assert.deepEqual(await state(kept), ['4', 4]);
  assert.ok(events.includes('web-a global_record_lost'), events.join());
  // b's copy (version 1) is older than the record: b takes the record's state.
  let release = await b.lock(kept);
  try {
    assert.equal(n((await b.get(kept))?.attrs), '4');
  } finally {
    release();
  }
  assert.deepEqual(await state(kept), ['4', 4]);

  // The destroy was lost too. The owner's turn finds nothing, and its local tombstone refuses the late save.
  await assert.rejects(a.save(gone, { attributes: { n: 'late' } }), (e) => isSessiondError(e, 'SESSIOND_SESSION_DESTROYED'));
  assert.equal(await a.get(gone), undefined);
  assert.ok(events.includes('web-a global_tombstone_lost'), events.join());
  assert.notEqual(await cli(replica, 'HGET', key(gone), 'd'), '', 'the owner put the tombstone back');
  // b's copy (version 2) saw the record within tombstoneMs: it must not bring it back.
  release = await b.lock(gone);
  try {
    assert.equal(await b.get(gone), undefined, 'a logout acknowledged before the failover came back');
  } finally {
    release();
  }
  assert.deepEqual(await state(gone), [undefined, undefined]);
  assert.equal(await a.get(gone), undefined);
});
