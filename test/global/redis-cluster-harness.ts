/**
 * A Redis Cluster of 3 masters + 3 replicas for the tests (kind: integration with real
 * servers): started from the installed `redis-server` on free loopback ports, created with
 * `redis-cli --cluster create ... --cluster-replicas 1 --cluster-yes`, waited on until every
 * node sees 3 replicas and the cluster is ok, stopped by pid; data in a temp dir.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { RedisTestPrefix } from './redis-harness.js';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A port whose cluster bus port (+10000) is free too. */
async function freePort(taken: Set<number>): Promise<number> {
  for (;;) {
    const p = 20_000 + Math.floor(Math.random() * 10_000);
    if (taken.has(p) || taken.has(p + 10_000)) continue;
    if ((await portFree(p)) && (await portFree(p + 10_000))) {
      taken.add(p);
      return p;
    }
  }
}

/** Resolves a reason to skip when redis-server / redis-cli are missing. Throws under CI. */
export async function clusterToolsMissing(): Promise<string | undefined> {
  try {
    await run('redis-server', ['--version']);
    await run('redis-cli', ['--version']);
    return undefined;
  } catch (e) {
    const why = `redis-server or redis-cli not installed (${String((e as Error).message)})`;
    if (process.env.CI === 'true') throw new Error(`${why}: the Redis Cluster tests need them under CI`);
    console.error(`\n!!! SKIPPING Redis Cluster tests: ${why} !!!\n`);
    return why;
  }
}

/** The port of a CLUSTER NODES address (`127.0.0.1:7000@17000`). */
const portOf = (address: string): number => Number(/:(\d+)@/.exec(address)![1]);

export class TestCluster {
  readonly procs = new Map<number, ChildProcess>();
  private admin: Cluster | undefined;

  private constructor(
    readonly dir: string,
    readonly ports: number[],
  ) {}

  get urls(): Array<{ url: string }> {
    return this.ports.map((p) => ({ url: `redis://127.0.0.1:${p}` }));
  }

  static async start(nodeTimeoutMs = 2000): Promise<TestCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'redis-cluster-'));
    const taken = new Set<number>();
    const ports: number[] = [];
    for (let i = 0; i < 6; i++) ports.push(await freePort(taken));
    const c = new TestCluster(dir, ports);
    try {
      for (const p of ports) c.spawnNode(p, nodeTimeoutMs);
      for (const p of ports) await c.waitPing(p);
      await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes']);
      await c.waitReady();
      return c;
    } catch (e) {
      await c.stop();
      throw e;
    }
  }

  private spawnNode(port: number, nodeTimeoutMs: number): void {
    const args = [
      '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
      '--cluster-node-timeout', String(nodeTimeoutMs), '--dir', this.dir, '--dbfilename', `dump-${port}.rdb`,
      '--appendonly', 'no', '--save', '', '--protected-mode', 'no', '--daemonize', 'no', '--loglevel', 'warning',
    ];
    const p = spawn('redis-server', args, { stdio: 'ignore' });
    this.procs.set(port, p);
  }

  private async waitPing(port: number): Promise<void> {
    for (let i = 0; i < 200; i++) {
      try {
        const { stdout } = await run('redis-cli', ['-p', String(port), 'PING']);
        if (stdout.trim() === 'PONG') return;
      } catch {
        // not up yet
      }
      await sleep(50);
    }
    throw new Error(`redis-server on ${port} did not start`);
  }

  async nodeInfo(port: number, what: 'CLUSTER NODES' | 'CLUSTER INFO'): Promise<string> {
    const { stdout } = await run('redis-cli', ['-p', String(port), ...what.split(' ')]);
    return stdout;
  }

  /** Every live node: cluster_state ok, `replicas` replicas in CLUSTER NODES with a live master each. */
  async waitReady(replicas = 3, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      let ok = true;
      for (const port of this.livePorts()) {
        try {
          const info = await this.nodeInfo(port, 'CLUSTER INFO');
          const nodes = await this.nodeInfo(port, 'CLUSTER NODES');
          const lines = nodes.trim().split('\n');
          const slaves = lines.filter((l) => / (myself,)?slave /.test(l) && !/fail/.test(l.split(' ')[2]!)).length;
          if (!/cluster_state:ok/.test(info) || slaves < replicas) ok = false;
          // A replica counts once its link is up (WAIT 1 needs it).
          const repl = (await run('redis-cli', ['-p', String(port), 'INFO', 'replication'])).stdout;
          if (/role:slave/.test(repl) && !/master_link_status:up/.test(repl)) ok = false;
        } catch {
          ok = false;
        }
      }
      if (ok) return;
      if (Date.now() > end) throw new Error('the Redis Cluster did not become ready');
      await sleep(100);
    }
  }

  /** After a master's kill: every live node marks it failed and is ok again (a replica took its slots; 5 s on a quiet machine, 43 s seen at load 40). */
  async waitFailover(victim: number, timeoutMs = 90_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      let ok = true;
      for (const port of this.livePorts()) {
        try {
          const line = (await this.nodeInfo(port, 'CLUSTER NODES')).split('\n').find((l) => l.includes(`:${victim}@`)) ?? '';
          const flags = line.split(' ')[2] ?? '';
          if (!/(^|,)fail(,|$)/.test(flags) || !/cluster_state:ok/.test(await this.nodeInfo(port, 'CLUSTER INFO'))) ok = false;
        } catch {
          ok = false;
        }
      }
      if (ok) return;
      if (Date.now() > end) throw new Error(`no failover of ${victim}`);
      await sleep(100);
    }
  }

  livePorts(): number[] {
    return this.ports.filter((p) => this.procs.has(p));
  }

  /** Ports of the current masters (as the first live node sees them). */
  async masterPorts(): Promise<number[]> {
    return (await this.nodeFields()).filter((f) => /master/.test(f[2]!) && !/fail/.test(f[2]!)).map((f) => portOf(f[1]!));
  }

  /** CLUSTER NODES as the first live node sees it, one array of fields per node. */
  private async nodeFields(): Promise<string[][]> {
    const nodes = await this.nodeInfo(this.livePorts()[0]!, 'CLUSTER NODES');
    return nodes.trim().split('\n').map((l) => l.split(' '));
  }

  /** The port of the live master serving `key`'s slot. */
  async masterOf(key: string): Promise<number> {
    const slot = Number((await run('redis-cli', ['-p', String(this.livePorts()[0]), 'CLUSTER', 'KEYSLOT', key])).stdout.trim());
    const serves = (range: string): boolean => {
      const [lo, hi] = range.split('-').map(Number);
      return slot >= lo! && slot <= (hi ?? lo)!;
    };
    const f = (await this.nodeFields()).find((n) => /master/.test(n[2]!) && !/fail/.test(n[2]!) && n.slice(8).some(serves));
    if (f === undefined) throw new Error(`no live master serves slot ${slot}`);
    return portOf(f[1]!);
  }

  /** The ports of the replicas of the master on `port`. */
  async replicasOf(port: number): Promise<number[]> {
    const nodes = await this.nodeFields();
    const id = nodes.find((n) => portOf(n[1]!) === port)?.[0];
    return nodes.filter((n) => /slave/.test(n[2]!) && n[3] === id).map((n) => portOf(n[1]!));
  }

  /** kill -9 of one node, by pid. */
  kill(port: number, signal: NodeJS.Signals = 'SIGKILL'): void {
    const p = this.procs.get(port);
    p?.kill(signal);
    if (signal === 'SIGKILL') this.procs.delete(port);
  }

  /** The test's own cluster client (admin: scans and deletes the test's keys). */
  client(): Cluster {
    this.admin ??= new Cluster(
      this.ports.slice(0, 3).map((port) => ({ host: '127.0.0.1', port })),
      { retryDelayOnFailover: 200, retryDelayOnClusterDown: 200 },
    );
    this.admin.on('error', () => undefined);
    return this.admin;
  }

  /** A key prefix on this cluster, like RedisTestPrefix.standalone on the machine's Redis. */
  prefix(): RedisTestPrefix {
    const admin = this.client();
    return new RedisTestPrefix({ redisCluster: { rootNodes: this.urls } }, { call: (c, ...a) => admin.call(c, ...a), quit: async () => 'OK' }, () => admin.nodes('master'));
  }

  async stop(): Promise<void> {
    this.admin?.disconnect();
    for (const [port, p] of this.procs) {
      if (p.exitCode === null && p.signalCode === null) {
        const gone = new Promise((r) => p.once('exit', r));
        p.kill('SIGKILL');
        await gone;
      }
      this.procs.delete(port);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

export { Redis };
