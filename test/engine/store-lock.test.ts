/**
 * The store lock (kind: unit on the simulated file system; integration with the real file
 * system and a holder in another process). Races between processes: store-lock-race.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { StoreLock } from '../../src/engine/store-lock.js';
import { formatLockLine, pidAlive, thisProcess } from '../../src/engine/lock-holder.js';
import { isSessiondError } from '../../src/errors.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { NodeFileSystem, nodeFileSystem } from '../../src/fs/node-file-system.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { wrapFileSystem } from '../support/wrap-file-system.js';
import type { RoundMessage, RoundReply } from './store-lock-rounds.js';

const CHILD = fileURLToPath(new URL('./store-lock-child.js', import.meta.url));
/** A pid no process has: above the kernel's pid_max limit (2^22). */
const DEAD_PID = 2 ** 22 + 1;

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sessiond-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Expects the open to be refused naming `pid`; an engine that opened anyway is closed first. */
async function refused(open: Promise<SessionEngine>, pid: number): Promise<void> {
  const r = await open.then(
    async (engine) => {
      await engine.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  assert.ok(r !== undefined, 'the store opened while another process held it');
  assertLocked(r, pid);
}

function assertLocked(e: unknown, pid: number | undefined): true {
  assert.ok(isSessiondError(e, 'SESSIOND_LOCKED'), `expected SESSIOND_LOCKED, got ${String(e)}`);
  assert.equal(e.context.pid, pid, e.message);
  return true;
}

async function writeSim(fs: SimFileSystem, path: string, text: string): Promise<void> {
  const fh = await fs.open(path, 'create');
  await fh.truncate(0);
  await fh.writev([Buffer.from(text, 'latin1')], 0);
  await fh.close();
}

async function readSim(fs: SimFileSystem, path: string): Promise<string | undefined> {
  if ((await fs.stat(path)) === undefined) return undefined;
  const fh = await fs.open(path, 'r');
  const buf = new Uint8Array(256);
  const n = await fh.read(buf, 0, buf.length, 0);
  await fh.close();
  return Buffer.from(buf.subarray(0, n)).toString('latin1');
}

// ---- in one process ----

for (const [name, make] of [
  ['simulated', () => new SimFileSystem()],
  ['node', () => new NodeFileSystem()],
] as const) {
  test(`${name} fs: a store opened twice in one process is refused naming this process, and reopens after close`, async (t) => {
    const fs: FileSystem = make();
    const dir = name === 'node' ? tempDir(t) : '/store';
    const a = await SessionEngine.open({ dir, fs });
    await refused(SessionEngine.open({ dir: dir + '/', fs }), process.pid);
    await a.close();
    const b = await SessionEngine.open({ dir, fs });
    await b.close();
  });

  test(`${name} fs: two opens of one store started in the same tick: exactly one wins`, async (t) => {
    const fs: FileSystem = make();
    const dir = name === 'node' ? tempDir(t) : '/store';
    await fs.mkdir(dir);
    const results = await Promise.allSettled([StoreLock.acquire(fs, dir), StoreLock.acquire(fs, dir)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1, `${won.length} opens got the lock`);
    const lost = results.find((r) => r.status === 'rejected')!;
    assertLocked(lost.reason, process.pid);
    await won[0]!.value.release();
  });
}

test('node fs: a second file layer in the same process cannot open a store the first holds (the kernel mutex sees it)', async (t) => {
  const dir = tempDir(t);
  const a = await SessionEngine.open({ dir });
  const other = wrapFileSystem(new NodeFileSystem(), () => ({}));
  await refused(SessionEngine.open({ dir, fs: other }), process.pid);
  await a.close();
  await (await SessionEngine.open({ dir, fs: other })).close();
});

test('close removes the LOCK file and frees the store for the next owner', async (t) => {
  const dir = tempDir(t);
  const a = await SessionEngine.open({ dir });
  assert.equal(readFileSync(join(dir, 'LOCK'), 'latin1'), formatLockLine(thisProcess()));
  await a.close();
  assert.deepEqual(readdirSync(dir).sort(), ['log-0', 'log-1', 'sessions.db']);
});

// ---- stale LOCK files (no live holder) ----

const STALE: Array<[string, string | Buffer]> = [
  ['empty (torn before its line was written)', ''],
  ['torn mid-line', 'sessiond pi'],
  ['foreign bytes', Buffer.from([0, 0xff, 0x13, 0x37, 10])],
  ['longer than any LOCK line', 'sessiond pid 1 '.repeat(20) + '\n'],
  ['the one-field line of older versions, naming a dead pid', `sessiond pid ${DEAD_PID}\n`],
  ['a dead pid in this namespace', formatLockLine({ ...thisProcess(), pid: DEAD_PID })],
  // The kernel mutex proves nobody in this network namespace holds the store, so a pid
  // reused by an unrelated live process (here: our parent) does not keep it locked.
  ['a pid reused by an unrelated live process', formatLockLine({ ...thisProcess(), pid: process.ppid })],
  ['a dead pid from another network namespace, same pid namespace', formatLockLine({ ...thisProcess(), netNs: '1', pid: DEAD_PID })],
];

for (const [what, content] of STALE) {
  test(`node fs: a LOCK file with no live holder is taken over: ${what}`, async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'LOCK'), content);
    const lock = await StoreLock.acquire(nodeFileSystem, dir);
    assert.equal(readFileSync(join(dir, 'LOCK'), 'latin1'), formatLockLine(thisProcess()));
    assert.deepEqual(readdirSync(dir), ['LOCK'], 'the takeover left a temporary file');
    await lock.release();
  });
}

test('node fs: a LOCK naming a process in another pid namespace is not taken over (its pid means nothing here)', async (t) => {
  const dir = tempDir(t);
  // No process here has this pid; in its own namespace it may well be alive.
  const foreign = formatLockLine({ pid: DEAD_PID, netNs: '1', pidNs: '2' });
  writeFileSync(join(dir, 'LOCK'), foreign);
  await assert.rejects(StoreLock.acquire(nodeFileSystem, dir), (e) => assertLocked(e, DEAD_PID) && /another pid namespace/.test((e as Error).message));
  assert.equal(readFileSync(join(dir, 'LOCK'), 'latin1'), foreign);
});

test('simulated fs (no kernel mutex): a LOCK naming another live process is refused; a dead one or an earlier life of this process is taken over', async () => {
  const fs = new SimFileSystem();
  await fs.mkdir('/store');
  await writeSim(fs, '/store/LOCK', formatLockLine({ ...thisProcess(), pid: process.ppid }));
  await assert.rejects(StoreLock.acquire(fs, '/store'), (e) => assertLocked(e, process.ppid));
  for (const pid of [DEAD_PID, process.pid]) {
    await writeSim(fs, '/store/LOCK', formatLockLine({ ...thisProcess(), pid }));
    const lock = await StoreLock.acquire(fs, '/store');
    assert.equal(await readSim(fs, '/store/LOCK'), formatLockLine(thisProcess()));
    await lock.release();
    assert.equal(await readSim(fs, '/store/LOCK'), undefined);
  }
});

test('refused at a mutex whose holder does not answer: named from LOCK only when that names a live process (a dead one is a holder killed -9)', async () => {
  const fs = new SimFileSystem();
  await fs.mkdir('/store');
  // The mutex is held by a process too busy to answer (store-lock-race: between taking it and writing LOCK).
  const busy = Object.assign(new Error('held'), { code: 'EADDRINUSE' });
  (fs as FileSystem).dirMutex = () => Promise.reject(busy);
  await writeSim(fs, '/store/LOCK', formatLockLine({ ...thisProcess(), pid: DEAD_PID }));
  await assert.rejects(StoreLock.acquire(fs, '/store'), (e) => assertLocked(e, undefined));
  await writeSim(fs, '/store/LOCK', formatLockLine({ ...thisProcess(), pid: process.ppid }));
  await assert.rejects(StoreLock.acquire(fs, '/store'), (e) => assertLocked(e, process.ppid));
  assert.equal(await readSim(fs, '/store/LOCK'), formatLockLine({ ...thisProcess(), pid: process.ppid }), 'a refused open leaves LOCK alone');
});

/**
 * A zombie: `sh` backgrounds a subshell that waits on a pipe from this process, then
 * becomes `sleep`, which never reaps it; only then is the pipe closed and the subshell
 * exits. Its pid still answers kill(0), yet the process is gone and holds nothing. The
 * subshell must not exit before the exec: `sh` reaps a child that ends while it still runs
 * (as it did under load when the child was `sleep 0`). Resolves its pid once /proc says it
 * is a zombie; the parent is stopped by its pid after the test (init then reaps).
 */
async function zombie(t: { after: (fn: () => void) => void }): Promise<number> {
  const parent = spawn('sh', ['-c', 'exec 3<&0; (read x <&3) & echo $!; exec sleep 300 3<&-'], { stdio: ['pipe', 'pipe', 'ignore'] });
  t.after(() => void parent.kill('SIGKILL'));
  const pid = Number(await new Promise<string>((r) => parent.stdout.once('data', (d: Buffer) => r(d.toString()))));
  const comm = (): string => readFileSync(`/proc/${parent.pid}/comm`, 'latin1').trim();
  for (let i = 0; i < 2400 && comm() !== 'sleep'; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(comm(), 'sleep', 'the shell never became sleep');
  parent.stdin.end(); // the subshell reads the end of the pipe and exits, a child of sleep
  for (let i = 0; i < 2400 && !/\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'latin1')); i++) await new Promise((r) => setTimeout(r, 25));
  assert.match(readFileSync(`/proc/${pid}/stat`, 'latin1'), /\) Z /, 'the child never became a zombie');
  return pid;
}

test('simulated fs (no kernel mutex): a LOCK naming a zombie (exited, not reaped) is taken over: kill(0) alone would call it alive', async (t) => {
  if (!existsSync('/proc/self/stat')) return t.skip('no procfs: zombies cannot be told from live processes');
  const pid = await zombie(t);
  process.kill(pid, 0); // kill(0) still answers for it
  assert.equal(pidAlive(pid), false);
  const fs = new SimFileSystem();
  await fs.mkdir('/store');
  await writeSim(fs, '/store/LOCK', formatLockLine({ ...thisProcess(), pid }));
  const lock = await StoreLock.acquire(fs, '/store');
  assert.equal(await readSim(fs, '/store/LOCK'), formatLockLine(thisProcess()));
  await lock.release();
});

test('simulated fs (no kernel mutex): a takeover that loses the last rename to another process backs off, naming it', async () => {
  const sim = new SimFileSystem();
  await sim.mkdir('/store');
  await writeSim(sim, '/store/LOCK', formatLockLine({ ...thisProcess(), pid: DEAD_PID }));
  const rival = formatLockLine({ ...thisProcess(), pid: process.ppid });
  // Another process took over the same stale LOCK: its rename lands right after ours.
  const fs: FileSystem = {
    ...wrapFileSystem(sim, () => ({})),
    rename: async (from, to) => {
      await sim.rename(from, to);
      if (to === '/store/LOCK') await writeSim(sim, '/store/LOCK', rival);
    },
  };
  await assert.rejects(StoreLock.acquire(fs, '/store'), (e) => assertLocked(e, process.ppid));
  assert.equal(await readSim(sim, '/store/LOCK'), rival, 'the loser removed the winner\'s LOCK');
  assert.deepEqual(await sim.readdir('/store'), ['LOCK']);
});

// ---- a live holder in another process ----

/** A child process holding the store in `dir`; killed when the test ends, whatever happens. */
async function startHolder(t: { after: (fn: () => void) => void }, dir: string): Promise<ChildProcess> {
  const child = fork(CHILD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  t.after(() => child.kill('SIGKILL'));
  const next = (): Promise<unknown> => new Promise((r) => child.once('message', r));
  await next(); // ready
  const m: RoundMessage = { type: 'round', round: 0, dir, startAt: 0 };
  child.send(m);
  const reply = (await next()) as RoundReply;
  assert.ok(reply.won, JSON.stringify(reply));
  return child;
}

/** Bytes and modification time of every file but LOCK. */
function snapshot(dir: string): Record<string, { bytes: string; mtimeNs: bigint }> {
  const out: Record<string, { bytes: string; mtimeNs: bigint }> = {};
  for (const f of readdirSync(dir).filter((n) => n !== 'LOCK').sort()) {
    out[f] = { bytes: readFileSync(join(dir, f)).toString('base64'), mtimeNs: statSync(join(dir, f), { bigint: true }).mtimeNs };
  }
  return out;
}

test('node fs: a live holder in another process is never taken over, even with its LOCK deleted or damaged, and a refused open touches no store file', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const holder = await startHolder(t, dir);
  const before = snapshot(dir);
  assert.deepEqual(Object.keys(before), ['log-0', 'log-1', 'sessions.db']);
  const pid = holder.pid!;

  await refused(SessionEngine.open({ dir }), pid);
  unlinkSync(join(dir, 'LOCK'));
  await refused(SessionEngine.open({ dir }), pid);
  for (const damage of ['', 'garbage\n', `sessiond pid ${DEAD_PID}\n`]) {
    writeFileSync(join(dir, 'LOCK'), damage);
    await refused(SessionEngine.open({ dir }), pid);
    assert.equal(readFileSync(join(dir, 'LOCK'), 'latin1'), damage, 'a refused open rewrote LOCK');
  }
  assert.deepEqual(snapshot(dir), before, 'a refused open changed a store file');

  const exited = new Promise((r) => holder.once('exit', r));
  holder.disconnect(); // the holder closes its store and exits
  await exited;
  await (await SessionEngine.open({ dir })).close();
});
