/**
 * Test support (the global integration tests): the servers of one test file, each a
 * GlobalSessionEngine composed over a store the test made, on a simulated file layer at
 * `/s`. Every timer the test does not name is out of the way (an hour: flush, expiry,
 * inheritance, cleanup) and the lease lasts a minute, so only what the test does happens.
 * `close(backend)` (in the file's `after`) closes every engine and cut pool it made, then
 * drops the backend's schema or key prefix.
 */
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import { resolveGlobalOptions, type GlobalOptionsInput } from '../../src/global/global-options.js';
import type { GlobalStore } from '../../src/global/global-store.js';
import type { EngineOptionsInput } from '../../src/options.js';
import { CutPool } from './cut-pool.js';

export const HOUR = 3_600_000;

/** A test server's global options but its serverId (the backend's connection a placeholder: the store is given). */
export type FleetGlobal = Omit<GlobalOptionsInput, 'serverId'>;

export class EngineFleet {
  readonly engines: GlobalSessionEngine[] = [];
  private readonly pools: CutPool[] = [];

  /** Server `serverId` over `store`; `engine` overrides the local engine's options (its fs, clock, queueWaitMsMax...). */
  async compose(serverId: string, global: FleetGlobal, store: GlobalStore, engine: Partial<EngineOptionsInput> = {}): Promise<GlobalSessionEngine> {
    const g = resolveGlobalOptions({ leaseMs: 60_000, inheritIntervalMs: HOUR, cleanupIntervalMs: HOUR, ...global, serverId }, '/s');
    const e = await GlobalSessionEngine.compose({ dir: '/s', fs: new SimFileSystem(), flushIntervalMs: HOUR, expiryIntervalMs: HOUR, ...engine }, g, store);
    this.engines.push(e);
    return e;
  }

  /** A PostgreSQL pool the test can cut (closed with the fleet). */
  cutPool(): CutPool {
    const p = new CutPool();
    this.pools.push(p);
    return p;
  }

  async close(backend?: { drop(): Promise<void> }): Promise<void> {
    for (const e of this.engines) await e.close().catch(() => undefined);
    for (const p of this.pools) await p.end();
    await backend?.drop();
  }
}

/** Runs `f` holding the session's turn, as a request does between its read and its save. */
export async function inTurn<T>(e: GlobalSessionEngine, id: string, f: () => Promise<T>): Promise<T> {
  const release = await e.lock(id);
  try {
    return await f();
  } finally {
    release();
  }
}
