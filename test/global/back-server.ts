/**
 * Back-mode servers for the integration tests on the real PostgreSQL (global-back-touch,
 * global-back-now): each local engine on the simulated file layer and on `clock` (wall),
 * its lease window on `mono` when given (a monotonic clock the test moves), timers that
 * never fire on their own (write-back, inheritance, clean-up), `over` for other options.
 * `db` stays undefined when PostgreSQL is not reachable (the tests then skip).
 */
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import type { ManualClock } from '../../src/clock.js';
import { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import { resolveGlobalOptions } from '../../src/global/global-options.js';
import { pgMissing, PgTestSchema } from './pg-harness.js';

const HOUR = 3_600_000;

export class BackServers {
  db: PgTestSchema | undefined;
  private readonly engines: GlobalSessionEngine[] = [];

  /** For `before`. */
  async start(): Promise<void> {
    if ((await pgMissing()) === undefined) this.db = new PgTestSchema();
  }

  /** For `after`: closes every server, drops the schema. */
  async close(): Promise<void> {
    for (const e of this.engines) await e.close().catch(() => undefined);
    await this.db?.drop();
  }

  async server(name: string, clock: ManualClock, over: Record<string, unknown> = {}, mono?: { ms: number }): Promise<GlobalSessionEngine> {
    const g = resolveGlobalOptions(
      { postgres: { connectionString: 'unused' }, app: 'shop', serverId: name, mode: 'back', leaseMs: 60_000, inheritIntervalMs: HOUR, cleanupIntervalMs: HOUR, writeBackMs: 600_000, ...over },
      '/s',
    );
    const store = await this.db!.store({ app: 'shop', poolMax: 4 });
    const e = await GlobalSessionEngine.compose({ dir: '/s', fs: new SimFileSystem(), flushIntervalMs: HOUR, expiryIntervalMs: HOUR, clock, queueWaitMsMax: 5000 }, g, store, mono === undefined ? undefined : () => mono.ms);
    this.engines.push(e);
    return e;
  }
}
