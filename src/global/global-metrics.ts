import { Counter, Gauge, Registry } from 'prom-client';
import type { GlobalSessionEngine, GlobalStats } from './global-session-engine.js';

/**
 * The global tier's numbers for the admin port's `/metrics` (docs/failover.md, docs/operations.md):
 * pass `extraMetrics: globalMetrics(engine)` to startAdminServer beside the local engine's
 * metrics. Read from one `stats()` per scrape; nothing is counted twice.
 */
export function globalMetrics(engine: GlobalSessionEngine): Registry {
  const registry = new Registry();
  let snapshot: Promise<GlobalStats> | undefined;
  // One stats() per scrape, shared by every metric of that scrape.
  const stats = (): Promise<GlobalStats> => {
    snapshot ??= engine.stats().then((s) => s.global).finally(() => setImmediate(() => (snapshot = undefined)));
    return snapshot;
  };
  const gauge = (name: string, help: string, value: (s: GlobalStats) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set(value(await stats()));
      },
    });
  };
  const counter = (name: string, help: string, value: (s: GlobalStats) => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      async collect() {
        this.reset();
        this.inc(value(await stats()));
      },
    });
  };
  gauge('sessiond_global_write_back_pending', 'Sessions whose latest change is not yet in the global store', (s) => s.writeBackPending);
  gauge('sessiond_global_write_back_lag_seconds', 'Age of the oldest change not yet written back', (s) => s.writeBackLagMs / 1000);
  gauge('sessiond_global_lease_exclusive_seconds', 'How much longer this server may serve the sessions it holds without hearing from the global store', (s) => s.exclusiveForMs / 1000);
  gauge('sessiond_global_epoch', "This server's current epoch", (s) => s.epoch);
  counter('sessiond_global_write_back_written_total', 'Sessions written back', (s) => s.writeBackWritten);
  counter('sessiond_global_write_back_lost_total', 'Pending changes lost because another server took or removed the session first', (s) => s.writeBackLost);
  counter('sessiond_global_write_back_failures_total', 'Write-back rounds that failed (global store unreachable, ...)', (s) => s.writeBackFailures);
  counter('sessiond_global_handovers_given_total', 'Sessions handed over to another server on its request', (s) => s.handoversGiven);
  counter('sessiond_global_handovers_asked_total', 'Hand-over requests sent to other servers', (s) => s.handoversAsked);
  counter('sessiond_global_leases_lost_total', 'Times this server lost its lease and registered again', (s) => s.leasesLost);
  counter('sessiond_global_fenced_total', 'Requests refused because a fenced statement changed nothing', (s) => s.fenced);
  counter('sessiond_global_inherited_total', 'Sessions inherited in the background from servers whose lease lapsed', (s) => s.inherited);
  return registry;
}
