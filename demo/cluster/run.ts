import cluster from 'node:cluster';
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSecret } from '../demo-secret.js';
import { runWorker } from './worker.js';

/**
 * `npm run demo:cluster`: `sessiond serve` on DATA_DIR/sessions (port SESSIOND_PORT, 6390),
 * and the demo app in node cluster mode with WORKERS (2) workers on PORT (3000), all sharing
 * the sessions through the Redis protocol. Kill the sessiond process with kill -9: this
 * script starts it again, and every browser is still logged in with the same counter.
 * With REDIS_URL set, no server is started: the workers use that one.
 */

const HOST = '127.0.0.1';
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function intEnv(name: string, fallback: number): number {
  const v = Number.parseInt(process.env[name] ?? String(fallback), 10);
  if (!Number.isSafeInteger(v) || v < 0 || v > 65535) throw new Error(`${name} must be 0..65535, got ${process.env[name]}`);
  return v;
}

const dataDir = resolve(process.env.DATA_DIR ?? './data-cluster');
const port = intEnv('PORT', 3000);
const workers = intEnv('WORKERS', 2);
const secret = loadSecret(dataDir);

if (cluster.isPrimary) {
  void primary();
} else {
  await runWorker(process.env.REDIS_URL!, port, secret);
}

/** Starts `sessiond serve` and restarts it whenever it dies (that is the point of the demo). */
function superviseServer(sessiondPort: number): Promise<void> {
  let stopping = false;
  let child: ChildProcess | undefined;
  process.once('SIGTERM', () => ((stopping = true), child?.kill('SIGTERM')));
  process.once('SIGINT', () => ((stopping = true), child?.kill('SIGTERM')));
  return new Promise((ready) => {
    const start = (): void => {
      child = spawn(process.execPath, [CLI, 'serve', join(dataDir, 'sessions'), '--port', String(sessiondPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
      console.log(`sessiond serve started (pid ${child.pid})`);
      child.stdout!.on('data', (d: Buffer) => {
        process.stdout.write(d);
        if (d.toString().includes('sessiond serving')) ready();
      });
      child.once('exit', (code, signal) => {
        if (stopping) return;
        console.log(`sessiond serve exited (${signal ?? code}); starting it again`);
        setTimeout(start, 200);
      });
    };
    start();
  });
}

async function primary(): Promise<void> {
  let redisUrl = process.env.REDIS_URL;
  if (redisUrl === undefined) {
    const sessiondPort = intEnv('SESSIOND_PORT', 6390);
    await superviseServer(sessiondPort);
    redisUrl = `redis://${HOST}:${sessiondPort}`;
  }
  let listening = 0;
  for (let i = 0; i < workers; i++) {
    const w = cluster.fork({ REDIS_URL: redisUrl });
    w.once('listening', (address) => {
      if (++listening === workers) console.log(`sessiond cluster demo listening on http://${HOST}:${address.port} (${workers} workers)`);
    });
  }
  const stop = (): void => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    // A worker still starting may not have its handler yet: do not wait for it forever.
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
