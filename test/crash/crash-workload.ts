/**
 * The seeded workload the crash simulation runs: turns of 1-4 concurrent operations (so
 * group commit batches them), occasional flushes and compactions, and a clock that moves
 * between turns (mostly milliseconds, sometimes minutes), so the engine's timers (flush,
 * reaper, 'interval' fsync), session expiry, tombstone expiry and the time-based log swap
 * all run around the crash points.
 */
import { SessionEngine } from '../../src/engine/session-engine.js';
import type { ManualClock } from '../../src/clock.js';
import type { SimFileSystem } from '../../src/fs/sim-file-system.js';
import type { Durability } from '../../src/log/log-writer.js';
import type { EngineOptionsInput } from '../../src/options.js';
import { Prng } from '../../src/util/prng.js';
import { isSessiondError } from '../../src/errors.js';
import type { Change } from './crash-oracle.js';

export const STORE_DIR = '/store';

/** Fixed test keys: the crash cases that encrypt rotate between them epoch by epoch (by the clock). */
const KEYS = { k1: Buffer.alloc(32, 1), k2: Buffer.alloc(32, 2) };

/**
 * The principal of a workload session: derived from its `a0` attribute (saves and patches
 * move it, some sessions have none) without drawing from the workload's prng.
 */
export function workloadPrincipal(session: { readonly attributes: ReadonlyMap<string, string> }): string | undefined {
  const v = session.attributes.get('a0');
  return v === undefined ? undefined : `p${v.length % 4}`;
}

export function engineOptions(fs: SimFileSystem, clock: ManualClock, durability: Durability = 'fsync', observer?: (c: Change) => void, encrypt = false, cacheBytesMax = 0): EngineOptionsInput {
  return {
    principal: workloadPrincipal,
    ...(encrypt ? { encryption: { keys: KEYS, current: clock.now() % 2 === 0 ? 'k1' : 'k2' } } : {}),
    ...(cacheBytesMax > 0 ? { cacheBytesMax } : {}),
    dir: STORE_DIR,
    fs,
    clock,
    durability,
    owner: 'test-server',
    logSwapBytes: 4096,
    logSwapMs: 2_000,
    fsyncIntervalMs: 50,
    groupCommitBytesMax: 4096,
    flushBatchBytesMax: 4096, // flushes split into several database batches
    flushIntervalMs: 1_000,
    expiryIntervalMs: 300,
    tombstoneMs: 5_000,
    observer: { appended: (lsn, id, state) => observer?.({ lsn, id, state }) },
  };
}

export interface WorkloadRun {
  changes: Change[];
  /** LSN of the last change whose promise resolved (acknowledged); 0 if none. */
  ackedLsn: number;
  /** LSN of the last change a resolved flush() or compact() made durable against power loss. */
  flushedLsn: number;
  engine: SessionEngine | undefined;
  opened: boolean;
  /** Every error any operation (or the open) failed with. */
  errors: unknown[];
}

export interface WorkloadOptions {
  seed: number;
  steps: number;
  clock: ManualClock;
  durability?: Durability;
  /** The cache bound (0: none); a small one evicts every session the database file holds. */
  cacheBytesMax?: number;
  /** Checks the store right after it opened, before any change; a string stops the run. */
  onOpen?: (engine: SessionEngine) => string | undefined | Promise<string | undefined>;
  /** Seal attributes (docs/format.md §3.7) under a key that changes with the clock. */
  encrypt?: boolean;
}

/**
 * The principal of a session without loading it: a cold one (cacheBytesMax) is found by
 * idsOf, from its summary (the workload's principals are p0..p3).
 */
function principalOf(engine: SessionEngine, id: string): string | undefined {
  try {
    return engine.get(id)?.principal;
  } catch (e) {
    if (!isSessiondError(e, 'SESSIOND_SESSION_NOT_LOADED')) throw e;
    return ['p0', 'p1', 'p2', 'p3'].find((p) => engine.idsOf(p).includes(id)) ?? '';
  }
}

function makeId(prng: Prng): string {
  return Buffer.from(prng.bytes(18)).toString('base64url');
}

function randomAttrs(prng: Prng): Record<string, string> {
  const out: Record<string, string> = {};
  const n = 1 + prng.int(4);
  for (let i = 0; i < n; i++) {
    const big = prng.int(10) === 0; // some sessions span several sectors
    const value = big ? 'x'.repeat(600 + prng.int(1500)) : prng.int(1_000_000);
    out[`a${prng.int(6)}`] = JSON.stringify({ v: value });
  }
  return out;
}

/** How far the clock moves before a turn: mostly a few ms, at times past the timers, rarely minutes. */
function tick(prng: Prng): number {
  const r = prng.int(100);
  if (r < 60) return prng.int(60);
  if (r < 95) return 100 + prng.int(1_500);
  return 60_000 + prng.int(600_000);
}

/** A session lifetime: long, or short enough to expire within the workload. */
function lifetimeMs(prng: Prng): number {
  const r = prng.int(10);
  if (r < 4) return 3_600_000 + prng.int(1000);
  return r < 7 ? 1_000 + prng.int(4_000) : 20 + prng.int(200);
}

/** Lets the I/O the timers started run (the simulated file layer resolves in microtasks). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

/**
 * Opens the store on `fs` and runs the workload. Never throws: after a crash every call
 * fails and the run stops.
 */
export async function runWorkload(fs: SimFileSystem, w: WorkloadOptions): Promise<WorkloadRun & { openError?: string }> {
  const prng = new Prng(w.seed);
  const { clock } = w;
  const changes: Change[] = [];
  const run: WorkloadRun & { openError?: string } = { changes, ackedLsn: 0, flushedLsn: 0, engine: undefined, opened: false, errors: [] };
  const failed = (e: unknown): undefined => {
    run.errors.push(e);
    return undefined;
  };
  try {
    run.engine = await SessionEngine.open(engineOptions(fs, clock, w.durability, (c) => changes.push(c), w.encrypt, w.cacheBytesMax));
  } catch (e) {
    failed(e);
    return run;
  }
  run.opened = true;
  const engine = run.engine;
  try {
    run.openError = await w.onOpen?.(engine);
  } catch (e) {
    // Under cacheBytesMax the check reads evicted sessions back: a crash there is a crash
    // during the open (no change was made), so the last oracle stands.
    run.opened = false;
    return failed(e) ?? run;
  }
  if (run.openError !== undefined) return run;
  const live: string[] = engine.ids();
  const lastLsn = (before: number): number => (changes.length > before ? changes[changes.length - 1]!.lsn : 0);
  const track = (p: Promise<unknown>, before: number): Promise<void> => {
    const lsn = lastLsn(before);
    return p.then(() => {
      if (lsn > run.ackedLsn) run.ackedLsn = lsn;
    }, failed);
  };
  /** flush/compact: everything acknowledged before the call is durable once it resolves. */
  const durably = (p: () => Promise<unknown>): Promise<void> => {
    const acked = run.ackedLsn;
    return p().then(() => {
      if (acked > run.flushedLsn) run.flushedLsn = acked;
    }, failed);
  };
  for (let step = 0; step < w.steps && engine.readOnlyReason === undefined; step++) {
    clock.advance(tick(prng));
    await settle();
    const turn: Promise<void>[] = [];
    const ops = 1 + prng.int(4);
    for (let i = 0; i < ops; i++) {
      const before = changes.length;
      const r = prng.int(100);
      const now = clock.now();
      if (r < 40 || live.length === 0) {
        const id = live.length > 0 && prng.bool(0.5) ? prng.pick(live) : makeId(prng);
        if (!live.includes(id)) live.push(id);
        const maxInactiveMs = prng.bool(0.2) ? 500 + prng.int(5_000) : 0;
        turn.push(track(engine.save(id, { attributes: randomAttrs(prng), expiresAtMs: now + lifetimeMs(prng), maxInactiveMs }), before));
      } else if (r < 60) {
        const id = prng.pick(live);
        const remove = prng.bool(0.3) ? [`a${prng.int(6)}`] : [];
        turn.push(track(engine.patch(id, { set: { [`a${prng.int(6)}`]: String(prng.int(1000)) }, remove }), before));
      } else if (r < 75) {
        const id = prng.pick(live);
        const input = { expiresAtMs: now + lifetimeMs(prng) };
        // Every other step the adapters' lazy touch: acknowledged (tracked) only once a later
        // datasync covers it, which may be another turn's, so the turn does not wait for it.
        if (step % 2 === 1) void track(engine.touch(id, input, true), before);
        else turn.push(track(engine.touch(id, input), before));
      } else if (r < 88) {
        const id = live.splice(prng.int(live.length), 1)[0]!;
        const principal = r >= 85 ? principalOf(engine, id) : undefined;
        // Now and then "log out everywhere else": every session of the principal but this one.
        if (principal !== undefined && principal !== '') turn.push(track(engine.destroyAllOf(principal, { except: id }), before));
        else turn.push(track(engine.destroy(id), before));
      } else if (r < 97) {
        turn.push(durably(() => engine.flush()));
      } else {
        turn.push(durably(() => engine.compact()));
      }
    }
    // Time also passes while the turn's changes wait for their fsync: the timers' flushes and
    // reaps then meet pending changes (a touch extending a session that just expired).
    if (prng.bool(0.5)) clock.advance(tick(prng));
    await Promise.all(turn);
  }
  return run;
}
