/**
 * Errors and injected faults of the simulated file system. Errors look like node:fs
 * errors (`code`, `errno`, `syscall`, `path`, `dest`) so the engine handles both alike.
 */

import { assert } from '../assert.js';

/** Every operation the simulator counts and can fail. */
export type SimOp =
  | 'open'
  | 'writev'
  | 'read'
  | 'datasync'
  | 'truncate'
  | 'size'
  | 'close'
  | 'stat'
  | 'readdir'
  | 'mkdir'
  | 'rename'
  | 'unlink'
  | 'syncDir';

export const SIM_OPS: readonly SimOp[] = [
  'open',
  'writev',
  'read',
  'datasync',
  'truncate',
  'size',
  'close',
  'stat',
  'readdir',
  'mkdir',
  'rename',
  'unlink',
  'syncDir',
];

export type SimErrno = 'EIO' | 'ENOSPC' | 'EBADF' | 'ENOENT' | 'EEXIST' | 'EISDIR' | 'ENOTDIR';

const ERRNO: Record<SimErrno, { errno: number; text: string }> = {
  EIO: { errno: -5, text: 'i/o error' },
  ENOSPC: { errno: -28, text: 'no space left on device' },
  EBADF: { errno: -9, text: 'bad file descriptor' },
  ENOENT: { errno: -2, text: 'no such file or directory' },
  EEXIST: { errno: -17, text: 'file already exists' },
  EISDIR: { errno: -21, text: 'illegal operation on a directory' },
  ENOTDIR: { errno: -20, text: 'not a directory' },
};

export const SIM_CRASH_TEXT = 'simulated crash';

export interface SimError extends Error {
  code: SimErrno;
  errno: number;
  /** The op, or 'crash' for a call made on a crashed instance. */
  syscall: string;
  path: string;
  dest?: string;
}

/** An error shaped like node's: "ENOENT: no such file or directory, open 'x'". */
export function simError(code: SimErrno, syscall: string, path: string, dest?: string, text?: string): SimError {
  const where = dest === undefined ? `'${path}'` : `'${path}' -> '${dest}'`;
  const e = new Error(`${code}: ${text ?? ERRNO[code].text}, ${syscall} ${where}`) as SimError;
  e.code = code;
  e.errno = ERRNO[code].errno;
  e.syscall = syscall;
  e.path = path;
  if (dest !== undefined) e.dest = dest;
  return e;
}

export function crashError(syscall: string, path: string): SimError {
  return simError('EIO', syscall, path, undefined, SIM_CRASH_TEXT);
}

export interface FaultRule {
  /** Which ops match; every op when absent. */
  op?: SimOp | readonly SimOp[];
  /** Substring of the path (either path of a rename); every path when absent. */
  path?: string;
  /** Fail the nth matching call after injection (1-based). Default 1. */
  nth?: number;
  code: 'EIO' | 'ENOSPC' | 'EBADF';
  /** Fail the nth and every later matching call, not just the nth. */
  persistent?: boolean;
  /**
   * What a failed datasync does to the file's unsynced writes (Linux marks the pages clean
   * and moves on: reads still see them, no later sync writes them). 'all' (default): none
   * reaches the disk; 'seeded': each 512-byte sector piece did or did not, from the seed.
   */
  syncLoss?: 'all' | 'seeded';
}

interface ArmedFault {
  readonly rule: FaultRule;
  readonly nth: number;
  seen: number;
}

export class FaultInjector {
  private faults: ArmedFault[] = [];

  inject(rule: FaultRule): void {
    const nth = rule.nth ?? 1;
    assert(Number.isSafeInteger(nth) && nth >= 1, `fault nth must be a positive integer, got ${nth}`);
    this.faults.push({ rule: { ...rule }, nth, seen: 0 });
  }

  clear(): void {
    this.faults = [];
  }

  /** The error this call fails with and its rule, if a fault fires. Every matching rule counts the call. */
  check(op: SimOp, path: string, dest?: string): { error: SimError; rule: FaultRule } | undefined {
    let fired: { error: SimError; rule: FaultRule } | undefined;
    for (const f of this.faults) {
      if (!matches(f.rule, op, path, dest)) continue;
      f.seen++;
      const fires = f.rule.persistent ? f.seen >= f.nth : f.seen === f.nth;
      if (fires) fired ??= { error: simError(f.rule.code, op, path, dest), rule: f.rule };
    }
    // A one-shot fault is spent once it fired.
    this.faults = this.faults.filter((f) => f.rule.persistent || f.seen < f.nth);
    return fired;
  }
}

function matches(rule: FaultRule, op: SimOp, path: string, dest: string | undefined): boolean {
  if (rule.op !== undefined) {
    const ops: readonly SimOp[] = typeof rule.op === 'string' ? [rule.op] : rule.op;
    if (!ops.includes(op)) return false;
  }
  if (rule.path === undefined) return true;
  return path.includes(rule.path) || (dest?.includes(rule.path) ?? false);
}
