/**
 * Real kill -9 loops (kind: crash, real processes and the real file system). A child
 * writes under load and reports each acknowledged change; the parent SIGKILLs it at a
 * random moment, reopens the store, and checks every change it saw acknowledged.
 * SESSIOND_KILL_LOOPS sets the loops per configuration (default 20; `npm run test:kill-long` 1,000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { Prng } from '../../src/util/prng.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import type { Durability } from '../../src/options.js';

const LOOPS = Number(process.env.SESSIOND_KILL_LOOPS ?? 20);
/** Grows with the loops (several seconds a loop on 2 loaded cores): a fixed 600 s timed out 200 loops, and every `test:kill-long`. */
const TIMEOUT_MS = Math.max(600_000, LOOPS * 30_000);
const WRITER = fileURLToPath(new URL('./kill-writer.js', import.meta.url));

/** Per session: its last acknowledged state and the one change in flight, if any ('del' = absent). */
interface Expect {
  acked: Map<string, string>;
  inFlight: Map<string, string>;
}

/** Runs the writer until a random moment after it is ready, then SIGKILLs it. */
function runAndKill(dir: string, durability: Durability, seed: number, killAfterMs: number, ex: Expect): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, dir, durability, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const [phase, kind, id, n] = buf.slice(0, nl).split(' ');
        buf = buf.slice(nl + 1);
        const state = kind === 'del' ? 'del' : `n=${n}`;
        if (phase === 'ready') timer ??= setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        else if (phase === 'do') ex.inFlight.set(id!, state);
        else if (phase === 'ok') {
          ex.acked.set(id!, state);
          ex.inFlight.delete(id!);
        }
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`writer exited with ${code ?? signal} before the kill: ${stderr}`));
    });
  });
}

/** Checks every session against what the parent saw; returns how many acknowledged changes were checked. */
async function checkStore(dir: string, ex: Expect): Promise<number> {
  const engine = await SessionEngine.open({ dir, owner: 'kill-test' });
  try {
    let checked = 0;
    for (const [id, acked] of ex.acked) {
      const s = engine.get(id);
      const actual = s === undefined ? 'del' : `n=${attributesFromBlob(s.attrs).get('n')}`;
      const inFlight = ex.inFlight.get(id);
      assert.ok(actual === acked || actual === inFlight, `session ${id}: found ${actual}, acknowledged ${acked}, in flight ${inFlight ?? 'nothing'}`);
      // What recovery kept is the baseline for the next loop.
      ex.acked.set(id, actual);
      checked++;
    }
    ex.inFlight.clear();
    return checked;
  } finally {
    await engine.close();
  }
}

function killLoops(name: string, base: string, durability: Durability): void {
  test(`${name}: ${LOOPS} kill -9 loops lose no acknowledged change`, { timeout: TIMEOUT_MS }, async () => {
    const dir = mkdtempSync(join(base, 'sessiond-kill-'));
    try {
      const prng = new Prng(4242);
      const ex: Expect = { acked: new Map(), inFlight: new Map() };
      let checked = 0;
      for (let i = 0; i < LOOPS; i++) {
        await runAndKill(dir, durability, 1000 + i, 20 + prng.int(300), ex);
        checked += await checkStore(dir, ex);
      }
      assert.ok(checked > 0, 'the writer acknowledged nothing: the test proved nothing');
      assert.equal(statSync(join(dir, 'sessions.db')).mode & 0o777, 0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

killLoops('fsync durability on disk', tmpdir(), 'fsync');
// The "persistent volatile memory" of claim 1b: with the log on tmpfs and no fsync, a
// process crash still loses nothing (the page cache survives the process).
if (existsSync('/dev/shm')) killLoops('durability none on tmpfs (/dev/shm)', '/dev/shm', 'none');
