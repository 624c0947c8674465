/**
 * A logout retried after a delete no replica confirmed (kind: integration, a Redis master
 * and its replica started by the test on free loopback ports; issue 11). The replica is
 * stopped (SIGSTOP), so a logout's delete runs on the master but WAIT times out: 503, not
 * acknowledged. The browser retries on another server, which finds no record on the master.
 * That retry must not be acknowledged either while no replica has the delete: a failover to
 * that replica would bring the record back and undo an acknowledged logout. WAIT counts only
 * the connection's own writes, so the retry writes (RedisGlobalStore.destroy) before it waits.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import type { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import { isSessiondError } from '../../src/errors.js';
import { RedisTestPrefix } from './redis-harness.js';
import { clusterToolsMissing } from './redis-cluster-harness.js';
import { EngineFleet } from './engine-fleet.js';
import { until } from './until.js';
import { freePort } from '../support/free-port.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = promisify(execFile);
async function cli(port: number, ...args: string[]): Promise<string> {
  return (await run('redis-cli', ['-p', String(port), ...args])).stdout;
}

/**
 * How long a change waits for a replica: long enough that a loaded machine's replica acks in
 * time (300 ms failed once in CI while the replica was running), short enough for the 503 case.
 */
const REPLICA_ACK_MS = 2000;

/** `f` holds, once the servers answer (a command to one still starting fails: not yet). */
const untilUp = (what: string, f: () => Promise<boolean>): Promise<void> => until(what, () => f().catch(() => false));

describe('GlobalSessionEngine on Redis with replicaAckMs: a logout is acknowledged only once a replica has the delete', () => {
  const procs = new Map<number, ChildProcess>();
  let master = 0;
  let replica = 0;
  let r: RedisTestPrefix | undefined;
  const fleet = new EngineFleet();
  let dir = '';

  before(async () => {
    if ((await clusterToolsMissing()) !== undefined) return;
    dir = mkdtempSync(join(tmpdir(), 'sessiond-replica-')); // the replica's full sync writes an RDB file
    [master, replica] = [await freePort(), await freePort()];
    for (const [port, extra] of [[master, []], [replica, ['--replicaof', '127.0.0.1', String(master)]]] as const) {
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', `dump-${port}.rdb`, '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning', ...extra];
      procs.set(port, spawn('redis-server', args, { stdio: 'ignore' }));
    }
    await untilUp('the replica link', async () => /master_link_status:up/.test(await cli(replica, 'INFO', 'replication')));
    await untilUp('the master to see its replica', async () => /connected_slaves:1/.test(await cli(master, 'INFO', 'replication')));
    r = RedisTestPrefix.standalone(`redis://127.0.0.1:${master}`);
  });
  after(async () => {
    for (const p of procs.values()) p.kill('SIGCONT');
    await fleet.close();
    await r?.drop().catch(() => undefined);
    for (const p of procs.values()) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      const gone = new Promise((res) => p.once('exit', res));
      p.kill('SIGKILL');
      await gone;
    }
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  const server = async (name: string): Promise<GlobalSessionEngine> =>
    fleet.compose(name, { redis: { url: `redis://127.0.0.1:${master}` }, keyPrefix: r!.prefix, app: 'shop', replicaAckMs: REPLICA_ACK_MS }, await r!.store({ app: 'shop', replicaAckMs: REPLICA_ACK_MS }));

  it('a retried logout that finds the record gone on the master gets 503 while the replica lacks the delete', async (t) => {
    if (r === undefined) return t.skip('redis-server not installed');
    const a = await server('web-a');
    const b = await server('web-b');
    const id = 'UnconfirmedDestroyAAAAAAAA';
    await a.save(id, { attributes: { user: 'u1' } });
    // The replica has acknowledged everything so far (a's own writes among them), then stops.
    await untilUp('the replica to acknowledge every write', async () => {
      const info = await cli(master, 'INFO', 'replication');
      return /slave0:.*offset=(\d+)/.exec(info)?.[1] === /master_repl_offset:(\d+)/.exec(info)?.[1];
    });
    procs.get(replica)!.kill('SIGSTOP');
    await assert.rejects(b.destroy(id), (e) => isSessiondError(e, 'SESSIOND_GLOBAL_UNAVAILABLE'), 'no replica confirmed the delete');
    assert.equal(await (await r.store({ app: 'shop' })).load(id), undefined, 'the master did delete it');
    await assert.rejects(a.destroy(id), (e) => isSessiondError(e, 'SESSIOND_GLOBAL_UNAVAILABLE'), 'the retry finds no record, and is not acknowledged either');
    procs.get(replica)!.kill('SIGCONT');
    // Once the replica has the delete, the retry is acknowledged.
    await assert.doesNotReject(a.destroy(id));
  });
});
