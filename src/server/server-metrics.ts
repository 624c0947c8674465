import { Counter, Gauge, Registry } from 'prom-client';
import type { ServerStats } from './command-context.js';

/**
 * The session server's own counters for the admin port's `/metrics` (docs/operations.md),
 * read from its ServerStats at scrape time: nothing is counted twice. Handed to
 * startAdminServer as `extraMetrics`, beside the engine's metrics.
 */
export function serverMetrics(stats: Readonly<ServerStats>, connectionsOpen: () => number): Registry {
  const registry = new Registry();
  const counter = (name: string, help: string, value: () => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(value());
      },
    });
  };
  counter('sessiond_server_connections_total', 'Connections accepted by sessiond serve, including those refused past clientsMax', () => stats.connectionsTotal);
  counter('sessiond_server_connections_rejected_total', 'Connections refused past clientsMax', () => stats.connectionsRejected);
  counter('sessiond_server_commands_total', 'Commands answered', () => stats.commandsTotal);
  counter('sessiond_server_protocol_errors_total', 'Connections closed for a protocol error or a per-connection limit', () => stats.protocolErrors);
  counter('sessiond_server_slow_clients_closed_total', 'Connections closed past outputBufferBytesMax', () => stats.slowClientsClosed);
  counter('sessiond_server_idle_clients_closed_total', 'Connections closed past idleTimeoutMs', () => stats.idleClientsClosed);
  new Gauge({
    name: 'sessiond_server_connections',
    help: 'Connections open now',
    registers: [registry],
    collect() {
      this.set(connectionsOpen());
    },
  });
  return registry;
}
