import type { Clock } from '../clock.js';
import type { SessionEngine } from '../engine/session-engine.js';
import type { Durability } from '../options.js';
import type { Protocol, Reply } from './resp-serializer.js';
import type { ServerOptions } from './server-options.js';

/** One connection as the commands see it (CLIENT, HELLO, AUTH change it). */
export interface ClientInfo {
  readonly id: number;
  readonly addr: string;
  readonly createdAtMs: number;
  name: string;
  libName: string;
  libVer: string;
  proto: Protocol;
  authenticated: boolean;
}

/** Counters of the server; INFO shows them (and the admin port can export them). */
export interface ServerStats {
  connectionsTotal: number;
  connectionsRejected: number;
  commandsTotal: number;
  protocolErrors: number;
  slowClientsClosed: number;
  idleClientsClosed: number;
}

export interface ServerContext {
  /** The open store. Only commands without `loading: true` use it, and they never run while loading(). */
  readonly engine: SessionEngine;
  /** True while the store recovers: the server already listens (docs/server.md "Loading"). */
  readonly loading: () => boolean;
  /** The engine's clock once open, the options' clock before. */
  readonly clock: Clock;
  readonly durability: Durability;
  readonly options: ServerOptions;
  readonly startedAtMs: number;
  readonly stats: ServerStats;
  /** The connected clients, for CLIENT LIST and INFO. */
  readonly clients: () => Iterable<ClientInfo>;
  /** "127.0.0.1:6390" or the socket path. */
  readonly listeningOn: () => string;
  /** The port actually bound (0 for a Unix socket). */
  readonly port: () => number;
}

export interface CommandCall {
  readonly server: ServerContext;
  readonly client: ClientInfo;
  /** args[0] is the command name as the client sent it. */
  readonly args: readonly Buffer[];
  /** Closes the connection once this command's reply is written (QUIT). */
  quit(): void;
}

/**
 * How a command is ordered against the connection's earlier commands (docs/server.md
 * "Pipelines"): `write` commands are issued at once, so a pipeline of writes shares group
 * commits; `read` and `read-write` commands wait until the connection's earlier writes are
 * durable, so they see them; `meta` commands touch no key.
 */
export type CommandKind = 'meta' | 'read' | 'write' | 'read-write';

export interface CommandSpec {
  /** Lower case, as in redis-server's errors. */
  readonly name: string;
  /** Redis convention: n = exactly n words (with the name), -n = at least n. */
  readonly arity: number;
  readonly kind: CommandKind | ((args: readonly Buffer[]) => CommandKind);
  /** Allowed before AUTH. */
  readonly noAuth?: boolean;
  /** Answered while the store recovers (redis-server's "loading" flag); it must not use the engine. */
  readonly loading?: boolean;
  run(call: CommandCall): Reply | Promise<Reply>;
}
