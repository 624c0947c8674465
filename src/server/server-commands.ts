import type { CommandCall, CommandSpec } from './command-context.js';
import { globMatch } from './glob-match.js';
import { REDIS_VERSION } from './connection-commands.js';
import { OK, array, bulk, error, int, map, type Reply } from './resp-serializer.js';

/** Commands about the server: INFO, CONFIG GET, COMMAND. Enough for clients' start-up checks. */

function infoText(call: CommandCall, section: string): string {
  const { server } = call;
  const now = server.clock.now();
  const clients = [...server.clients()].length;
  const loading = server.loading();
  const keys = loading ? 0 : server.engine.count();
  const sections: Record<string, string[]> = {
    server: [
      `redis_version:${REDIS_VERSION}`,
      'redis_mode:standalone',
      'sessiond:1',
      `process_id:${process.pid}`,
      `tcp_port:${server.port()}`,
      `uptime_in_seconds:${Math.floor((now - server.startedAtMs) / 1000)}`,
    ],
    clients: [`connected_clients:${clients}`, `maxclients:${server.options.clientsMax}`],
    // loading:1 while the store recovers (the server listens first, as redis-server does).
    persistence: [`loading:${loading ? 1 : 0}`, 'async_loading:0', 'aof_enabled:1', `sessiond_durability:${server.durability}`],
    stats: [
      `total_connections_received:${server.stats.connectionsTotal}`,
      `total_commands_processed:${server.stats.commandsTotal}`,
      `rejected_connections:${server.stats.connectionsRejected}`,
      `sessiond_protocol_errors:${server.stats.protocolErrors}`,
      `sessiond_slow_clients_closed:${server.stats.slowClientsClosed}`,
      `sessiond_idle_clients_closed:${server.stats.idleClientsClosed}`,
    ],
    replication: ['role:master', 'connected_slaves:0'],
    keyspace: keys > 0 ? [`db0:keys=${keys},expires=${keys},avg_ttl=0`] : [],
  };
  const wanted = section === '' || section === 'all' || section === 'default' || section === 'everything' ? Object.keys(sections) : [section];
  return wanted
    .filter((s) => sections[s] !== undefined)
    .map((s) => `# ${s[0]!.toUpperCase()}${s.slice(1)}\r\n${sections[s]!.map((l) => l + '\r\n').join('')}`)
    .join('\r\n');
}

const info: CommandSpec = {
  name: 'info',
  arity: -1,
  kind: 'meta',
  loading: true,
  run: (call) => bulk(infoText(call, call.args.length > 1 ? call.args[1]!.toString('latin1').toLowerCase() : '')),
};

/** What CONFIG GET reports: redis-benchmark and some clients ask for these at start. */
function configValues(call: CommandCall): [string, string][] {
  const o = call.server.options;
  return [
    ['save', ''],
    ['appendonly', 'yes'],
    ['appendfsync', call.server.durability === 'fsync' ? 'always' : call.server.durability === 'interval' ? 'everysec' : 'no'],
    ['databases', '1'],
    ['maxclients', String(o.clientsMax)],
    ['timeout', String(Math.floor(o.idleTimeoutMs / 1000))],
    ['proto-max-bulk-len', String(o.bulkBytesMax)],
    ['client-query-buffer-limit', String(o.pipelineBytesMax)],
  ];
}

const config: CommandSpec = {
  name: 'config',
  arity: -2,
  kind: 'meta',
  loading: true,
  run(call): Reply {
    const sub = call.args[1]!.toString('latin1').toLowerCase();
    if (sub !== 'get') return error(`ERR unknown subcommand '${call.args[1]!.toString('latin1').slice(0, 128)}'. Try CONFIG HELP.`);
    if (call.args.length < 3) return error("ERR wrong number of arguments for 'config|get' command");
    const patterns = call.args.slice(2).map((a) => a.toString('latin1'));
    const hits = configValues(call).filter(([k]) => patterns.some((p) => globMatch(p, k, true)));
    return map(hits.map(([k, v]) => [bulk(k), bulk(v)] as const));
  },
};

const command: CommandSpec = {
  name: 'command',
  arity: -1,
  kind: 'meta',
  loading: true,
  run(call): Reply {
    if (call.args.length === 1) return array([]);
    const sub = call.args[1]!.toString('latin1').toLowerCase();
    if (sub === 'docs') return map([]);
    if (sub === 'count') return int(0);
    if (sub === 'info') return array(call.args.slice(2).map(() => ({ t: 'null' })));
    if (sub === 'list') return array([]);
    return error(`ERR unknown subcommand '${call.args[1]!.toString('latin1').slice(0, 128)}'. Try COMMAND HELP.`);
  },
};

/**
 * SAVE: every change acknowledged so far is moved into the database file before the reply
 * (engine.flush(): a checkpoint, as redis-server's SAVE writes its RDB). Not needed for
 * durability (a SET is answered once its log record is durable); it ends what a restart
 * would replay, and lets an operator or a benchmark charge the checkpoint to its writes.
 * A `read`, so it also waits for this connection's earlier writes.
 */
const save: CommandSpec = {
  name: 'save',
  arity: 1,
  kind: 'read',
  run: (call) => call.server.engine.flush().then(() => OK),
};

export const SERVER_COMMANDS: readonly CommandSpec[] = [info, config, command, save];
