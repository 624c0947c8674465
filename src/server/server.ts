import { createConnection, createServer, isIPv4, isIPv6, type Server, type Socket } from 'node:net';
import { unlink } from 'node:fs/promises';
import { SessionEngine } from '../engine/session-engine.js';
import { SessiondError } from '../errors.js';
import type { ServerContext, ServerStats } from './command-context.js';
import { Connection } from './connection.js';
import { resolveServerOptions, type ServerOptions, type ServerOptionsInput } from './server-options.js';
import { serverMetrics } from './server-metrics.js';
import { startAdminServer, type AdminServer } from '../admin/admin-server.js';

/** A running `sessiond serve` (docs/server.md). */
export interface SessiondServer {
  readonly engine: SessionEngine;
  readonly options: ServerOptions;
  /** The TCP port bound (useful with port 0); undefined on a Unix socket. */
  readonly port: number | undefined;
  /** "127.0.0.1:6390", or the socket path. */
  readonly address: string;
  readonly stats: Readonly<ServerStats>;
  /** The admin port (/metrics, admin page) when `adminPort` was given. */
  readonly admin: AdminServer | undefined;
  /** Stops accepting, answers what is in flight, closes the engine. Idempotent. */
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIPv4(host)) return host.startsWith('127.');
  if (isIPv6(host)) return host === '::1' || host.toLowerCase().startsWith('::ffff:127.');
  return false;
}

/**
 * Opens (recovering) the store in `dir` and serves it over the Redis protocol. Resolves
 * once connections are accepted. Without a password only loopback or a Unix socket is
 * served: the sessions of every user would otherwise be one connection away.
 */
export async function serve(input: ServerOptionsInput): Promise<SessiondServer> {
  const options = resolveServerOptions(input);
  if (options.password === undefined && options.socket === undefined && !isLoopback(options.host)) {
    throw new SessiondError('SESSIOND_INSECURE_BIND', `${options.host}: give a password (--password-file) or listen on loopback or a Unix socket`, { host: options.host });
  }
  const engine = await SessionEngine.open({ ...options.engine, dir: options.dir });
  try {
    return await listen(options, engine);
  } catch (e) {
    await engine.close();
    throw e;
  }
}

async function listen(options: ServerOptions, engine: SessionEngine): Promise<SessiondServer> {
  const connections = new Set<Connection>();
  const stats: ServerStats = { connectionsTotal: 0, connectionsRejected: 0, commandsTotal: 0, protocolErrors: 0, slowClientsClosed: 0, idleClientsClosed: 0 };
  let address = '';
  let port: number | undefined;
  const context: ServerContext = {
    engine,
    options,
    startedAtMs: engine.clock.now(),
    stats,
    clients: () => [...connections].map((c) => c.client),
    listeningOn: () => address,
    port: () => port ?? 0,
  };
  let nextId = 1;
  const server = createServer({ noDelay: true }, (socket: Socket) => {
    stats.connectionsTotal++;
    if (connections.size >= options.clientsMax) {
      stats.connectionsRejected++;
      socket.on('error', () => undefined);
      socket.end('-ERR max number of clients reached\r\n');
      return;
    }
    connections.add(new Connection(socket, context, nextId++, (c) => connections.delete(c)));
  });
  if (options.socket !== undefined) {
    await listenOnSocket(server, options.socket);
    address = options.socket;
  } else {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address();
    port = typeof a === 'object' && a !== null ? a.port : options.port;
    address = `${options.host}:${port}`;
  }
  let admin: AdminServer | undefined;
  if (options.adminPort !== undefined) {
    admin = await startAdminServer({ engine, host: options.adminHost, port: options.adminPort, extraMetrics: serverMetrics(stats, () => connections.size) }).catch(async (e: unknown) => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw e;
    });
  }
  let closing: Promise<void> | undefined;
  const shutdown = async (): Promise<void> => {
    await admin?.close();
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all([...connections].map((c) => c.shutdown()));
    await stopped;
    await engine.close();
  };
  return {
    engine,
    options,
    port,
    address,
    stats,
    admin,
    close: () => (closing ??= shutdown()),
  };
}

/** Listens on a Unix socket, replacing a stale socket file (left by a killed server) but never a live one. */
async function listenOnSocket(server: Server, path: string): Promise<void> {
  const attempt = (): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  try {
    await attempt();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    const live = await new Promise<boolean>((resolve) => {
      const probe = createConnection(path, () => {
        probe.destroy();
        resolve(true);
      });
      probe.on('error', () => resolve(false));
    });
    if (live) throw e;
    await unlink(path);
    await attempt();
  }
}
