/**
 * /metrics of the admin port (SPEC S3): scraped over HTTP, parsed, and checked to move
 * after operations (kind: integration over loopback HTTP, engine on the simulated file layer).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Registry } from 'prom-client';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { startAdminServer, type AdminServer } from '../../src/admin/admin-server.js';
import { HANG_GUARD_MS, withAdmin } from './admin-fixtures.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import type { FileSystem } from '../../src/fs/file-system.js';

const ID = 'AAAAAAAAAAAAAAAAAAAAAAAA';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition (the subset prom-client writes), checking every line's form. */
export function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const t = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (t) {
      assert.ok(!types.has(t[1]!), `one TYPE line per metric: ${t[1]}`);
      types.set(t[1]!, t[2]!);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const value = m[3] === '+Inf' ? Infinity : Number(m[3]);
    assert.ok(!Number.isNaN(value), `a number: ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return { samples, types };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  assert.ok(s, `metric ${name} ${JSON.stringify(labels)} present`);
  return s.value;
}

async function scrape(admin: AdminServer): Promise<{ samples: Sample[]; types: Map<string, string>; text: string; type: string | null }> {
  const res = await fetch(`${admin.url}metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  return { ...parseExposition(text), text, type: res.headers.get('content-type') };
}

function open(fs: FileSystem = new SimFileSystem()): Promise<SessionEngine> {
  return SessionEngine.open({ dir: '/s', fs, clock: new ManualClock(), flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000 });
}

test('/metrics serves Prometheus text whose sessions, operations, fsync, group, file and lag values move after operations', { timeout: HANG_GUARD_MS }, async () => {
  const e = await open();
  await withAdmin(e, {}, async (admin) => {
    const before = await scrape(admin);
    assert.match(before.type ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(value(before.samples, 'sessiond_sessions_live'), 0);
    assert.equal(value(before.samples, 'sessiond_operations_total', { op: 'save' }), 0);
    assert.equal(value(before.samples, 'sessiond_fsync_duration_seconds_count'), 0);
    const logBytesBefore = value(before.samples, 'sessiond_log_file_bytes', { log: '0' });

    for (let i = 0; i < 5; i++) await e.save(`${ID}${i}`, { attributes: { n: String(i) } });
    await Promise.all([e.touch(`${ID}0`), e.touch(`${ID}1`), e.touch(`${ID}2`)]); // one group of three
    await e.destroy(`${ID}4`);
    for (let i = 0; i < 32; i++) e.get(`${ID}1`);

    const after = await scrape(admin);
    const s = after.samples;
    assert.equal(value(s, 'sessiond_sessions_live'), 4);
    assert.equal(value(s, 'sessiond_operations_total', { op: 'save' }), 5);
    assert.equal(value(s, 'sessiond_operations_total', { op: 'touch' }), 3);
    assert.equal(value(s, 'sessiond_operations_total', { op: 'destroy' }), 1);
    assert.equal(value(s, 'sessiond_operations_total', { op: 'get' }), 32);
    assert.equal(value(s, 'sessiond_operation_duration_seconds_count', { op: 'get' }), 2, 'one get in 16 is timed');
    assert.equal(value(s, 'sessiond_operation_duration_seconds_count', { op: 'save' }), 5);
    assert.equal(value(s, 'sessiond_fsync_duration_seconds_count'), 7);
    assert.equal(value(s, 'sessiond_log_groups_total'), 7);
    assert.equal(value(s, 'sessiond_log_records_total'), 9);
    assert.equal(value(s, 'sessiond_group_commit_records_count'), 7);
    assert.equal(value(s, 'sessiond_group_commit_records_bucket', { le: '1' }), 6);
    assert.equal(value(s, 'sessiond_group_commit_records_bucket', { le: '4' }), 7);
    assert.equal(value(s, 'sessiond_group_commit_records_sum'), 9);
    assert.ok(value(s, 'sessiond_log_file_bytes', { log: '0' }) > logBytesBefore);
    assert.equal(value(s, 'sessiond_flush_lag_records'), 9);
    assert.equal(value(s, 'sessiond_tombstones'), 1);
    assert.ok(value(s, 'sessiond_event_loop_delay_seconds', { quantile: '0.99' }) >= 0);
    assert.equal(value(s, 'sessiond_read_only'), 0);

    await e.flush();
    await scrape(admin); // counters are totals, not increments per scrape
    const flushed = (await scrape(admin)).samples;
    assert.equal(value(flushed, 'sessiond_operations_total', { op: 'save' }), 5);
    assert.equal(value(flushed, 'sessiond_log_groups_total'), 7);
    assert.equal(value(flushed, 'sessiond_flush_lag_records'), 0);
    assert.equal(value(flushed, 'sessiond_flush_duration_seconds_count'), 1);
    assert.ok(value(flushed, 'sessiond_database_file_bytes') > 0);
  });
});

test('every histogram is cumulative and ends with +Inf equal to its count, and every name is sessiond_ with its unit last', { timeout: HANG_GUARD_MS }, async () => {
  const e = await open();
  await withAdmin(e, {}, async (admin) => {
    for (let i = 0; i < 20; i++) await e.save(`${ID}${i}`, { attributes: { n: String(i) } });
    e.latency.addMs('flush', 40_000); // beyond the largest finite bound (33.6 s): only in +Inf
    const { samples, types } = await scrape(admin);
    assert.equal(value(samples, 'sessiond_flush_duration_seconds_bucket', { le: '33.554432' }), 0);
    assert.equal(value(samples, 'sessiond_flush_duration_seconds_bucket', { le: '+Inf' }), 1);
    assert.equal(value(samples, 'sessiond_flush_duration_seconds_sum'), 40);
    for (const [name, type] of types) {
      assert.match(name, /^sessiond_[a-z_]+$/);
      if (type === 'counter') assert.match(name, /_total$/);
      else assert.match(name, /_(seconds|bytes|records|live|writes|tombstones|waiting|sessions|replayed|only)$/, name);
      if (type !== 'histogram') continue;
      const series = new Map<string, Sample[]>();
      for (const s of samples.filter((x) => x.name === `${name}_bucket`)) {
        const key = JSON.stringify({ ...s.labels, le: undefined });
        series.set(key, [...(series.get(key) ?? []), s]);
      }
      assert.ok(series.size > 0, `${name} has buckets`);
      for (const [key, buckets] of series) {
        const les = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)));
        assert.deepEqual(les, [...les].sort((a, b) => a - b), `${name} ${key}: bounds ascend`);
        for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, `${name} ${key}: cumulative`);
        const count = samples.find((x) => x.name === `${name}_count` && JSON.stringify({ ...x.labels, le: undefined }) === key)!;
        assert.equal(buckets.at(-1)!.labels.le, '+Inf');
        assert.equal(buckets.at(-1)!.value, count.value, `${name} ${key}: +Inf = count`);
      }
    }
    assert.equal(value(samples, 'sessiond_operation_duration_seconds_count', { op: 'save' }), 20);
  });
});

test('/metrics reports the recovery of the last start: duration, sessions, records replayed, bytes discarded', { timeout: HANG_GUARD_MS }, async () => {
  const sim = new SimFileSystem();
  const e = await open(sim);
  for (let i = 0; i < 6; i++) await e.save(`${ID}${i}`, { attributes: { n: String(i) } });
  const survivor = sim.crash(1); // acknowledged records are durable in the log, never flushed
  await e.close().catch(() => undefined);
  const e2 = await open(survivor);
  const admin = await startAdminServer({ engine: e2, port: 0 });
  try {
    const { samples } = await scrape(admin);
    assert.equal(value(samples, 'sessiond_recovery_records_replayed'), e2.recovery.recordsReplayed);
    assert.ok(e2.recovery.recordsReplayed >= 6);
    assert.equal(value(samples, 'sessiond_recovery_sessions'), 6);
    assert.equal(value(samples, 'sessiond_recovery_discarded_bytes'), e2.recovery.bytesDiscarded);
    assert.equal(value(samples, 'sessiond_recovery_duration_seconds'), e2.recovery.ms / 1000);
  } finally {
    await admin.close();
    await e2.close();
  }
});

test("extraMetrics (another prom-client Registry) is appended to /metrics; the global registry is left alone", { timeout: HANG_GUARD_MS }, async () => {
  const e = await open();
  const extra = new Registry();
  const c = new Counter({ name: 'sessiond_server_commands_total', help: 'commands', registers: [extra] });
  c.inc(3);
  await withAdmin(e, { extraMetrics: extra }, async (admin) => {
    const { samples } = await scrape(admin);
    assert.equal(value(samples, 'sessiond_server_commands_total'), 3);
    assert.ok(samples.some((s) => s.name === 'sessiond_sessions_live'));
    const { register } = await import('prom-client');
    assert.equal(register.getSingleMetric('sessiond_sessions_live'), undefined);
  });
});
