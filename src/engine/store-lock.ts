import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCK_FILE_NAME } from '../format/constants.js';
import { SessiondError, ioError } from '../errors.js';
import type { FileSystem } from '../fs/file-system.js';

/**
 * One owner per store directory. Within a process: a registry per file layer. Across
 * processes: the LOCK file holds the owner's pid; a pid that is no longer alive (the
 * owner was killed) is taken over.
 */
const held = new WeakMap<FileSystem, Set<string>>();

function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/** A process killed but not yet reaped by its parent still answers kill(0); it holds nothing. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // state is the field after "(comm)", and comm may itself contain spaces or parentheses
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false; // no procfs: trust kill(0)
  }
}

export class StoreLock {
  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
  ) {}

  static async acquire(fs: FileSystem, dir: string): Promise<StoreLock> {
    let dirs = held.get(fs);
    if (dirs === undefined) held.set(fs, (dirs = new Set()));
    if (dirs.has(dir)) throw new SessiondError('SESSIOND_LOCKED', `${dir} is already open in this process`, { dir, pid: process.pid });
    const path = join(dir, LOCK_FILE_NAME);
    try {
      const fh = await fs.open(path, 'create');
      try {
        const buf = new Uint8Array(32);
        const n = await fh.read(buf, 0, buf.length, 0);
        // Anything but our exact format (a torn or foreign file) is a stale lock.
        const m = /^sessiond pid (\d{1,10})\n$/.exec(Buffer.from(buf.subarray(0, n)).toString('latin1'));
        const pid = m === null ? 0 : Number(m[1]);
        if (pidAlive(pid)) throw new SessiondError('SESSIOND_LOCKED', `${dir} is held by process ${pid}`, { dir, pid });
        await fh.truncate(0);
        await fh.writev([Buffer.from(`sessiond pid ${process.pid}\n`, 'latin1')], 0);
      } finally {
        await fh.close();
      }
    } catch (e) {
      throw e instanceof SessiondError ? e : ioError('lock', path, e);
    }
    dirs.add(dir);
    return new StoreLock(fs, dir);
  }

  /** Clears the LOCK file so a live process does not keep a closed store held. */
  async release(): Promise<void> {
    held.get(this.fs)?.delete(this.dir);
    try {
      const fh = await this.fs.open(join(this.dir, LOCK_FILE_NAME), 'r+');
      await fh.truncate(0).finally(() => fh.close());
    } catch {
      // A LOCK we cannot clear holds only our pid; once we exit it is stale.
    }
  }
}
