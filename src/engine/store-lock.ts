import { join, resolve } from 'node:path';
import { LOCK_FILE_NAME, LOCK_LINE_BYTES_MAX } from '../format/constants.js';
import { SessiondError, ioError } from '../errors.js';
import type { DirMutex, FileSystem } from '../fs/file-system.js';
import { formatLockLine, holderMayBeAlive, parseLockLine, pidAlive, thisProcess } from './lock-holder.js';

/**
 * One owner per store directory (docs/format.md, LOCK). Three guards, in order:
 * - in this process, a registry per file layer, reserved before the first await;
 * - across processes, the file layer's kernel-held mutex where it has one (Linux): it
 *   makes the rest race-free and cannot outlive its holder;
 * - the LOCK file, created with O_EXCL and naming the holder: the diagnostics, and the only
 *   guard where there is no mutex. A stale LOCK is replaced by an atomic rename, then read
 *   back to see who won.
 */
const held = new WeakMap<FileSystem, Set<string>>();

/** Rounds of "create failed, but the LOCK vanished before we could read it". */
const CREATE_ATTEMPTS_MAX = 3;

export class StoreLock {
  private released = false;

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly key: string,
    private readonly line: string,
    private readonly mutex: DirMutex | undefined,
  ) {}

  static async acquire(fs: FileSystem, dir: string): Promise<StoreLock> {
    const key = resolve(dir);
    let dirs = held.get(fs);
    if (dirs === undefined) held.set(fs, (dirs = new Set()));
    if (dirs.has(key)) throw locked(dir, process.pid, 'it is already open in this process');
    dirs.add(key); // before any await: two opens in one tick must not both pass
    const line = formatLockLine(thisProcess());
    let mutex: DirMutex | undefined;
    try {
      mutex = await takeMutex(fs, dir, line);
      await claimLockFile(fs, dir, line, mutex !== undefined);
      return new StoreLock(fs, dir, key, line, mutex);
    } catch (e) {
      await mutex?.release().catch(() => undefined);
      dirs.delete(key);
      throw e;
    }
  }

  /** Removes our LOCK and frees the mutex, so a live process does not keep a closed store held. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const path = join(this.dir, LOCK_FILE_NAME);
    try {
      // Only our own line: a LOCK someone rewrote by hand is not ours to delete.
      if ((await readLock(this.fs, path)) === this.line) await this.fs.unlink(path);
    } catch {
      // A LOCK we cannot remove names our pid; once the mutex is free it is stale.
    }
    await this.mutex?.release().catch(() => undefined);
    held.get(this.fs)?.delete(this.key);
  }
}

function locked(dir: string, pid: number | undefined, why: string): SessiondError {
  return new SessiondError('SESSIOND_LOCKED', `${dir}: ${why}`, { dir, pid });
}

async function takeMutex(fs: FileSystem, dir: string, line: string): Promise<DirMutex | undefined> {
  if (fs.dirMutex === undefined) return undefined;
  try {
    return await fs.dirMutex(dir, line);
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'EADDRINUSE') throw ioError('lock', dir, e);
    // The holder's own answer; failing that (it is busy or mid-exit), its LOCK file, unless
    // that names a dead process: a holder killed -9 left it, and the live one that took the
    // mutex since has not replaced it yet (store-lock-race's kill rounds named the dead pid).
    const answered = parseLockLine(String((e as { holder?: unknown }).holder ?? ''));
    const written = answered ?? parseLockLine((await readLock(fs, join(dir, LOCK_FILE_NAME)).catch(() => undefined)) ?? '');
    const holder = answered ?? (holderMayBeAlive(written, thisProcess(), false, pidAlive) ? written : undefined);
    const pid = holder?.pid;
    throw locked(dir, pid, pid === undefined ? 'held by a live process that did not say its pid' : `held by process ${pid}`);
  }
}

/** Creates LOCK naming us, or replaces a stale one; throws SESSIOND_LOCKED for a live holder. */
async function claimLockFile(fs: FileSystem, dir: string, line: string, mutexHeld: boolean): Promise<void> {
  const path = join(dir, LOCK_FILE_NAME);
  try {
    for (let attempt = 1; ; attempt++) {
      if (await createExclusive(fs, path, line)) return;
      const text = await readLock(fs, path);
      if (text === undefined && attempt < CREATE_ATTEMPTS_MAX) continue; // removed meanwhile: create again
      const holder = parseLockLine(text ?? '');
      if (holder !== undefined && holderMayBeAlive(holder, thisProcess(), mutexHeld, pidAlive)) {
        const me = thisProcess().pidNs;
        const where = holder.pidNs !== undefined && me !== undefined && holder.pidNs !== me ? ' in another pid namespace; remove LOCK by hand once it is gone' : '';
        throw locked(dir, holder.pid, `held by process ${holder.pid}${where}`);
      }
      return await takeOver(fs, dir, path, line);
    }
  } catch (e) {
    throw e instanceof SessiondError ? e : ioError('lock', path, e);
  }
}

/** true when we created LOCK (O_EXCL) and wrote our line into it; false when it exists. */
async function createExclusive(fs: FileSystem, path: string, line: string): Promise<boolean> {
  let fh;
  try {
    fh = await fs.open(path, 'create-new');
  } catch (e) {
    if ((e as { code?: unknown }).code === 'EEXIST') return false;
    throw e;
  }
  try {
    await fh.writev([Buffer.from(line, 'latin1')], 0);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fs.unlink(path).catch(() => undefined);
    throw e;
  }
  await fh.close();
  return true;
}

/**
 * A stale LOCK is replaced whole by rename (never rewritten in place, which a reader could
 * see torn), then read back. Under the mutex nobody else can be here. Without it, two
 * takeovers can interleave; the read-back catches the one that lost the last rename, not
 * the one that read back before the other's rename (docs/format.md says so).
 */
async function takeOver(fs: FileSystem, dir: string, path: string, line: string): Promise<void> {
  // Named by pid, not at random: one left by a crash is reused, and the simulator's crashes replay from their seed.
  const tmp = `${path}.${process.pid}.new`;
  const fh = await fs.open(tmp, 'create');
  try {
    await fh.truncate(0);
    await fh.writev([Buffer.from(line, 'latin1')], 0);
  } finally {
    await fh.close();
  }
  try {
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  const now = await readLock(fs, path);
  if (now !== line) {
    const pid = parseLockLine(now ?? '')?.pid;
    throw locked(dir, pid, `taken over at the same moment by process ${pid ?? 'unknown'}`);
  }
}

/** The LOCK's text (at most one byte over the longest line), undefined when there is none. */
async function readLock(fs: FileSystem, path: string): Promise<string | undefined> {
  let fh;
  try {
    fh = await fs.open(path, 'r');
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const buf = new Uint8Array(LOCK_LINE_BYTES_MAX + 1);
    const n = await fh.read(buf, 0, buf.length, 0);
    return Buffer.from(buf.subarray(0, n)).toString('latin1');
  } finally {
    await fh.close();
  }
}
