import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { freeLoopbackPort } from './free-port.js';
import { stopProcess } from './stop-process.js';

export interface RedisServer {
  port: number;
  pid: number;
  /** the settings it runs with, as the report shows them */
  config: string;
  version: string;
  stop(): Promise<void>;
}

const READY_MS_MAX = 10_000;

/** How the bench's redis-server persists: an append-only file fsynced every write or every second, or nothing. */
export type RedisPersistence = 'always' | 'everysec' | 'none';

const PERSISTENCE: Record<RedisPersistence, { args: string[]; config: string }> = {
  always: { args: ['--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], config: 'appendonly yes, appendfsync always, no RDB snapshots' },
  everysec: { args: ['--appendonly', 'yes', '--appendfsync', 'everysec'], config: 'appendonly yes, appendfsync everysec (RDB snapshots at the defaults)' },
  none: { args: ['--appendonly', 'no', '--save', ''], config: 'no persistence (appendonly no, no RDB snapshots)' },
};

/**
 * Starts the bench's own redis-server on a free loopback port, its files in `dir`; by
 * default with an append-only file synced every second (the durable setting people run).
 */
export async function startRedisServer(dir: string, persistence: RedisPersistence = 'everysec'): Promise<RedisServer> {
  mkdirSync(dir, { recursive: true });
  const port = await freeLoopbackPort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'yes', ...PERSISTENCE[persistence].args, '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const pid = child.pid;
  if (pid === undefined) throw new Error('redis-server did not start (is it installed?)');
  try {
    await waitForPort(port, child);
  } catch (e) {
    await stopProcess(pid);
    throw new Error(`redis-server on port ${port} did not become ready: ${(e as Error).message}\n${log}`);
  }
  return {
    port,
    pid,
    config: PERSISTENCE[persistence].config,
    version: await redisVersion(),
    stop: () => stopProcess(pid),
  };
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_MS_MAX;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.write('PING\r\n');
        socket.once('data', (d) => {
          socket.destroy();
          resolve(d.toString().startsWith('+PONG'));
        });
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`not ready after ${READY_MS_MAX} ms`);
}

function redisVersion(): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('redis-server', ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', () => resolve(/v=(\S+)/.exec(out)?.[1] ?? 'unknown'));
    child.on('error', () => resolve('unknown'));
  });
}
