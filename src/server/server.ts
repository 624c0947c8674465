import { createConnection, createServer, isIPv4, isIPv6, type Server, type Socket } from 'node:net';
import { unlink } from 'node:fs/promises';
import { assert } from '../assert.js';
import type { Clock } from '../clock.js';
import { SessionEngine } from '../engine/session-engine.js';
import { resolveOptions } from '../options.js';
import { SessiondError } from '../errors.js';
import type { ServerContext, ServerStats } from './command-context.js';
import { Connection } from './connection.js';
import { resolveServerOptions, type ServerOptions, type ServerOptionsInput } from './server-options.js';
import { serverMetrics } from './server-metrics.js';
import { checkKeyMapping } from './serve-key-mapping.js';
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
 * Serves the store in `dir` over the Redis protocol. Listens first and then opens
 * (recovers) the store, as redis-server does: while it recovers, connection and server
 * commands are answered (INFO says `loading:1`) and data commands get `-LOADING`.
 * Resolves once the store is open and every command works; if recovery fails, stops
 * listening and rejects with the engine's error. Without a password only loopback or a
 * Unix socket is served: the sessions of every user would otherwise be one connection away.
 */
export async function serve(input: ServerOptionsInput): Promise<SessiondServer> {
  const options = resolveServerOptions(input);
  if (options.password === undefined && options.socket === undefined && !isLoopback(options.host)) {
    throw new SessiondError('SESSIOND_INSECURE_BIND', `${options.host}: give a password (--password-file) or listen on loopback or a Unix socket`, { host: options.host });
  }
  const engineInput = { ...options.engine, dir: options.dir };
  // Resolved here as well for what INFO shows while loading (and to refuse bad options before binding).
  const early = resolveOptions(engineInput);
  // The command handlers read sessions synchronously (engine.get): they must stay loaded.
  if (early.cacheBytesMax > 0) throw new SessiondError('SESSIOND_INVALID_OPTION', 'cacheBytesMax: not supported by sessiond serve yet (its commands read the cache synchronously)', { option: 'cacheBytesMax' });
  /** The open store, set once its key mapping is checked; undefined while loading. */
  const store: { engine?: SessionEngine } = {};
  const connections = new Set<Connection>();
  const stats: ServerStats = { connectionsTotal: 0, connectionsRejected: 0, commandsTotal: 0, protocolErrors: 0, slowClientsClosed: 0, idleClientsClosed: 0 };
  let address = '';
  let port: number | undefined;
  const context: ServerContext = {
    get engine(): SessionEngine {
      assert(store.engine !== undefined, 'a data command ran while the store was loading');
      return store.engine;
    },
    loading: () => store.engine === undefined,
    get clock(): Clock {
      return store.engine?.clock ?? early.clock;
    },
    durability: early.durability,
    options,
    startedAtMs: early.clock.now(),
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
  /** Stops accepting and closes every connection once what it sent is answered. */
  const stopListening = async (): Promise<void> => {
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all([...connections].map((c) => c.shutdown()));
    await stopped;
  };
  let open: SessionEngine;
  try {
    open = await SessionEngine.open(engineInput);
  } catch (e) {
    await stopListening();
    throw e;
  }
  try {
    // Still loading: data commands wait until the store's key mapping is known (and migrated).
    await checkKeyMapping(open, early.fs, options.dir, options.migrateKeys);
  } catch (e) {
    await stopListening();
    await open.close();
    throw e;
  }
  store.engine = open;
  let admin: AdminServer | undefined;
  if (options.adminPort !== undefined) {
    admin = await startAdminServer({ engine: open, host: options.adminHost, port: options.adminPort, extraMetrics: serverMetrics(stats, () => connections.size) }).catch(async (e: unknown) => {
      await stopListening();
      await open.close();
      throw e;
    });
  }
  let closing: Promise<void> | undefined;
  const shutdown = async (): Promise<void> => {
    await admin?.close();
    await stopListening();
    await open.close();
  };
  return {
    engine: open,
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
