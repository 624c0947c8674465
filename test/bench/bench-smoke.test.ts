// Smoke test of the benchmark harness (bench/): runs the Store API workload for a tiny size
// against the no-op store, memorystore and sessiond (when built), each in its own process,
// and checks the shape of the results and the last-write check. No timing assertions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import session from 'express-session';
import type { SessionData } from 'express-session';
import { benchConfig } from '../../bench/bench-config.js';
import { StoreWorkload } from '../../bench/lib/store-workload.js';
import { renderTables } from '../../bench/lib/report-tables.js';
import { checkTargets } from '../../bench/lib/targets.js';
import { machineInfo } from '../../bench/lib/machine-info.js';
import { NoopStore } from '../../bench/peers/noop-store.js';
import { availablePeers } from '../../bench/peers/peer-registry.js';
import { runStoreApi } from '../../bench/store-api.js';

/** A store that drops every third set: the last-write check must notice. */
class ForgetfulStore extends session.Store {
  private readonly inner = new NoopStore();
  private sets = 0;
  override get(sid: string, cb: (err: unknown, s?: SessionData | null) => void): void {
    this.inner.get(sid, cb);
  }
  override set(sid: string, s: SessionData, cb?: (err?: unknown) => void): void {
    if (++this.sets % 3 === 0) return void setImmediate(() => cb?.());
    this.inner.set(sid, s, cb);
  }
  override touch(sid: string, s: SessionData, cb?: (err?: unknown) => void): void {
    this.inner.touch(sid, s, cb);
  }
  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    this.inner.destroy(sid, cb);
  }
}

describe('bench harness (smoke)', () => {
  it('the last-write check catches a store that drops writes', async () => {
    const w = new StoreWorkload(new ForgetfulStore(), 200, 1);
    await w.populate(16);
    const mixed = await w.run({ name: 'mixed', depth: 8, readFraction: 0.9, durationMs: 100 });
    const verify = await w.verifyAll(16);
    assert.ok(mixed.checks > 0);
    assert.ok(mixed.checkFailures + verify.failures > 0, 'dropped writes went unnoticed');
  });

  it('the Store API workload runs each store in a child and every get returns the last write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sessiond-bench-smoke-'));
    try {
      const cfg = benchConfig(true);
      cfg.storeApi = { sessions: 100, phaseMs: 50, mixedDepth: 8, writeDepths: [1, 8], populateDepth: 16 };
      const peers = ['noop', 'memorystore', ...availablePeers().filter((p) => p === 'sessiond-fsync')];
      const run = await runStoreApi(cfg, peers, dir, [], () => {});
      assert.deepEqual(run.failures, []);
      assert.deepEqual(run.results.map((r) => r.peer), peers);
      for (const r of run.results) {
        assert.equal(r.phases.length, 3, r.peer);
        assert.equal(r.populate.ops, 100, r.peer);
        for (const p of r.phases) {
          assert.ok(p.ops > 0, `${r.peer} ${p.name} ran no operations`);
          assert.equal(p.errors, 0, `${r.peer} ${p.name}: ${p.firstError}`);
          assert.equal(p.checkFailures, 0, `${r.peer} ${p.name}: ${p.firstCheckFailure}`);
          assert.ok(p.latency.p50Ms <= p.latency.p99Ms);
        }
        assert.ok(r.phases[0]!.checks > 0, `${r.peer}: no get was checked`);
        assert.deepEqual({ checked: r.verify.checked, failures: r.verify.failures }, { checked: 100, failures: 0 }, r.verify.firstFailure);
        assert.ok(r.rssPeakBytes > 0);
      }
      const tables = renderTables({
        formatVersion: 1,
        startedAt: new Date().toISOString(),
        seconds: 1,
        command: 'smoke',
        config: cfg,
        dataDir: dir,
        machine: machineInfo(dir),
        loadAverageAt: {},
        stores: peers,
        storeApi: run,
        failures: [],
      });
      assert.match(tables, /### 2\. Store API/);
      assert.ok(checkTargets({ storeApi: run } as never).length > 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
