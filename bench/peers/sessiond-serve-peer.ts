import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freeLoopbackPort } from '../lib/free-port.js';
import { REPO_ROOT } from '../lib/package-version.js';
import { stopProcess } from '../lib/stop-process.js';
import type { Peer, PeerContext } from './peer.js';
import { connectRedisPeer } from './redis-peer.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
const READY_MS_MAX = 30_000;

/** `sessiond serve <dir> --port <port>` in its own process; resolves its pid once it prints its line. */
export function startSessiondServe(dir: string, port: number, execArgv: readonly string[] = []): Promise<number> {
  const child = spawn(process.execPath, [...execArgv, CLI, 'serve', dir, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sessiond serve did not start in ${READY_MS_MAX} ms:\n${out}`));
    }, READY_MS_MAX);
    const onData = (d: Buffer): void => {
      out = (out + d.toString()).slice(-4000);
      if (out.includes('sessiond serving')) {
        clearTimeout(timer);
        resolve(child.pid!);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sessiond serve exited (${code}):\n${out}`));
    });
  });
}

/**
 * connect-redis + node-redis against `sessiond serve` (durability fsync, the default) in its
 * own process: the app holds no sessiond code, as in `npm run demo:cluster`.
 * SESSIOND_SERVE_EXEC_ARGV (JSON array) passes node flags to the server, e.g. --cpu-prof.
 */
export async function createSessiondServePeer(ctx: PeerContext): Promise<Peer> {
  const port = await freeLoopbackPort();
  const execArgv = JSON.parse(process.env.SESSIOND_SERVE_EXEC_ARGV ?? '[]') as string[];
  const pid = await startSessiondServe(join(ctx.dir, 'sessiond-serve'), port, execArgv);
  return connectRedisPeer(
    port,
    { name: 'connect-redis → sessiond serve', durability: 'log fdatasync per group commit before any reply to a write: survives power loss', versions: { sessiond: 'working tree' }, serverPid: pid },
    async () => {},
    () => stopProcess(pid),
  );
}
