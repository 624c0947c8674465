/**
 * The store lock across real processes (kind: integration, real processes and the real
 * file system). N children race to open one directory at the same instant, round after
 * round; exactly one opens, the others are refused naming it, and no acknowledged save is
 * lost. SESSIOND_LOCK_ROUNDS sets the rounds (default 100; the kill rounds are a tenth).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import cluster from 'node:cluster';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { roundSessionId, type CloseMessage, type RoundMessage, type RoundReply } from './store-lock-rounds.js';

const ROUNDS = Number(process.env.SESSIOND_LOCK_ROUNDS ?? 100);
const KILL_ROUNDS = Math.max(5, Math.ceil(ROUNDS / 10));
/**
 * Timeouts grow with the rounds (a round took about 1 s, a kill round up to 30 s with its new racer
 * on 2 loaded cores): a fixed 600 s made `npm run test:lock-long` time out, not fail.
 */
const RACE_TIMEOUT_MS = Math.max(600_000, ROUNDS * 5_000);
const KILL_TIMEOUT_MS = Math.max(600_000, KILL_ROUNDS * 40_000);
const RACERS = 4;
/** Lead time for the barrier: every child has the round message well before it. */
const BARRIER_LEAD_MS = 25;
const CHILD = fileURLToPath(new URL('./store-lock-child.js', import.meta.url));

type Reply = RoundReply | { closed: number };

interface Racer {
  child: ChildProcess;
  pid: number;
  replies: Reply[];
  waiters: Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }>;
}

/** A racer is a forked child, or a node:cluster worker (whose listen() the primary would share unless told not to). */
function startRacer(kind: 'fork' | 'cluster' = 'fork'): Promise<Racer> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    if (kind === 'fork') child = fork(CHILD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    else {
      cluster.setupPrimary({ exec: CHILD, args: [] });
      child = cluster.fork().process;
    }
    const racer: Racer = { child, pid: child.pid!, replies: [], waiters: [] };
    child.once('error', reject);
    child.on('message', (m: Reply | { ready: number }) => {
      if ('ready' in m) return resolve(racer);
      const w = racer.waiters.shift();
      if (w) w.resolve(m);
      else racer.replies.push(m);
    });
    child.once('exit', (code, signal) => {
      for (const w of racer.waiters.splice(0)) w.reject(new Error(`racer ${racer.pid} exited (${code ?? signal}) before replying`));
    });
  });
}

function nextReply(r: Racer): Promise<Reply> {
  const ready = r.replies.shift();
  if (ready) return Promise.resolve(ready);
  if (r.child.exitCode !== null || r.child.signalCode !== null) return Promise.reject(new Error(`racer ${r.pid} is gone`));
  return new Promise((resolve, reject) => r.waiters.push({ resolve, reject }));
}

/** One round; the winner holds the store until told to close, so every loser tried while it held. */
async function race(racers: Racer[], dir: string, round: number): Promise<RoundReply[]> {
  const startAt = performance.timeOrigin + performance.now() + BARRIER_LEAD_MS;
  const m: RoundMessage = { type: 'round', round, dir, startAt };
  for (const r of racers) r.child.send(m);
  return (await Promise.all(racers.map(nextReply))) as RoundReply[];
}

async function closeWinner(racers: Racer[], pid: number): Promise<void> {
  const w = racers.find((r) => r.pid === pid)!;
  const m: CloseMessage = { type: 'close' };
  w.child.send(m);
  assert.deepEqual(await nextReply(w), { closed: pid });
}

/** Exactly one winner, every loser refused with SESSIOND_LOCKED naming it; returns the winner. */
function checkRound(round: number, replies: RoundReply[]): RoundReply & { won: true } {
  const winners = replies.filter((r): r is RoundReply & { won: true } => r.won);
  assert.equal(winners.length, 1, `round ${round}: ${winners.length} processes opened the store: ${JSON.stringify(replies)}`);
  const w = winners[0]!;
  assert.equal(w.missing, 0, `round ${round}: the winner found ${w.missing} earlier acknowledged saves missing`);
  for (const r of replies) {
    if (r.won) continue;
    assert.equal(r.code, 'SESSIOND_LOCKED', `round ${round}: ${JSON.stringify(r)}`);
    // The holder's pid comes from its answer on the mutex or, failing that, its LOCK file; in the
    // instant between taking the mutex and writing LOCK, a holder too busy to answer is refused
    // as "a live process that did not say its pid" (store-lock.ts). Never another pid.
    assert.ok(r.holderPid === w.pid || r.holderPid === undefined, `round ${round}: refused naming ${r.holderPid}, the holder is ${w.pid}`);
  }
  return w;
}

async function assertAllSaved(dir: string, rounds: number): Promise<void> {
  const engine = await SessionEngine.open({ dir, owner: 'lock-test' });
  try {
    const missing = Array.from({ length: rounds }, (_, r) => r).filter((r) => engine.get(roundSessionId(r)) === undefined);
    assert.deepEqual(missing, [], 'acknowledged saves lost');
  } finally {
    await engine.close();
  }
}

function stop(racers: Racer[]): void {
  for (const r of racers) if (r.child.connected) r.child.disconnect();
}

test(`${RACERS} processes opening one store at the same instant, ${ROUNDS} rounds: exactly one opens, nothing acknowledged is lost`, { timeout: RACE_TIMEOUT_MS }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sessiond-lock-race-'));
  const racers = await Promise.all(Array.from({ length: RACERS }, startRacer));
  try {
    for (let round = 0; round < ROUNDS; round++) await closeWinner(racers, checkRound(round, await race(racers, dir, round)).pid);
    await assertAllSaved(dir, ROUNDS);
  } finally {
    stop(racers);
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`${RACERS} node:cluster workers opening one store: exactly one opens, ${KILL_ROUNDS} rounds`, { timeout: KILL_TIMEOUT_MS }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sessiond-lock-cluster-'));
  const racers = await Promise.all(Array.from({ length: RACERS }, () => startRacer('cluster')));
  try {
    for (let round = 0; round < KILL_ROUNDS; round++) await closeWinner(racers, checkRound(round, await race(racers, dir, round)).pid);
    await assertAllSaved(dir, KILL_ROUNDS);
  } finally {
    stop(racers);
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`a holder killed with SIGKILL: ${RACERS} processes race to take over, exactly one wins, ${KILL_ROUNDS} rounds`, { timeout: KILL_TIMEOUT_MS }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sessiond-lock-kill-'));
  const racers = await Promise.all(Array.from({ length: RACERS }, startRacer));
  try {
    for (let round = 0; round < KILL_ROUNDS; round++) {
      // The winner holds the store: its LOCK names a live pid until the kill.
      const w = checkRound(round, await race(racers, dir, round));
      const i = racers.findIndex((r) => r.pid === w.pid);
      const dead = racers[i]!;
      const exited = new Promise((r) => dead.child.once('exit', r));
      dead.child.kill('SIGKILL');
      await exited;
      racers[i] = await startRacer();
    }
    // Every round after the first took over a LOCK naming a dead pid; so does this one.
    await closeWinner(racers, checkRound(KILL_ROUNDS, await race(racers, dir, KILL_ROUNDS)).pid);
    await assertAllSaved(dir, KILL_ROUNDS + 1);
  } finally {
    stop(racers);
    rmSync(dir, { recursive: true, force: true });
  }
});
