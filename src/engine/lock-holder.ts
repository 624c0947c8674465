import { readFileSync, readlinkSync } from 'node:fs';
import { LOCK_LINE_PREFIX } from '../format/constants.js';

/**
 * Who holds a store, as the LOCK file and the holder's mutex describe it. The namespace
 * inodes (from /proc/self/ns) say where the pid and the kernel mutex mean something:
 * the abstract socket is per network namespace, a pid per pid namespace.
 */
export interface LockHolder {
  readonly pid: number;
  /** undefined when the writer could not read it (no procfs) or wrote the older one-field line */
  readonly netNs: string | undefined;
  readonly pidNs: string | undefined;
}

const LINE = /^sessiond pid (\d{1,10})(?: netns (\d{1,20}) pidns (\d{1,20}))?\n$/;

export function formatLockLine(h: LockHolder): string {
  const ns = h.netNs !== undefined && h.pidNs !== undefined ? ` netns ${h.netNs} pidns ${h.pidNs}` : '';
  return `${LOCK_LINE_PREFIX}${h.pid}${ns}\n`;
}

/** undefined for anything but our exact line: a torn, empty or foreign file. */
export function parseLockLine(text: string): LockHolder | undefined {
  const m = LINE.exec(text);
  if (m === null) return undefined;
  const pid = Number(m[1]);
  if (pid <= 0) return undefined;
  return { pid, netNs: m[2], pidNs: m[3] };
}

function namespaceInode(kind: 'net' | 'pid'): string | undefined {
  try {
    return /^\w+:\[(\d{1,20})\]$/.exec(readlinkSync(`/proc/self/ns/${kind}`))?.[1];
  } catch {
    return undefined; // no procfs (not Linux, or a sandbox): namespaces unknown
  }
}

let self: LockHolder | undefined;
export function thisProcess(): LockHolder {
  return (self ??= Object.freeze({ pid: process.pid, netNs: namespaceInode('net'), pidNs: namespaceInode('pid') }));
}

/** Two namespace ids name the same namespace unless both are known and differ. */
function sameNamespace(a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined || a === b;
}

/**
 * Whether the LOCK file's holder may still own the store. Called only when this process
 * does not hold the store (the in-process registry says so). `mutexHeld`: this process
 * holds the directory's kernel mutex, so no live holder exists in its network namespace,
 * whatever pid the file names (a pid reused by an unrelated process included).
 */
export function holderMayBeAlive(h: LockHolder | undefined, me: LockHolder, mutexHeld: boolean, pidAlive: (pid: number) => boolean): boolean {
  if (h === undefined) return false; // torn or foreign: no holder wrote it whole
  if (mutexHeld && sameNamespace(h.netNs, me.netNs)) return false;
  // A pid from another pid namespace means nothing here: kill(0) would judge a stranger.
  // Refuse rather than risk two owners; docs/format.md says how to clear such a LOCK.
  if (!sameNamespace(h.pidNs, me.pidNs)) return true;
  if (h.pid === me.pid) return false; // an earlier life of this process (simulated crash), or our pid reused
  return pidAlive(h.pid);
}

/** kill(0) answers for zombies too: a killed process its parent has not reaped holds nothing. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // state is the field after "(comm)", and comm may itself contain spaces or parentheses
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false; // no procfs: trust kill(0)
  }
}
