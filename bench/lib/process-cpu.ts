import { procFile } from './proc-file.js';

/** Kernel clock ticks per second for /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_S = 100;

/**
 * CPU time (user and system, every thread) another process has used so far, in ms, from
 * /proc/<pid>/stat fields 14 and 15; undefined when the process is gone or /proc is missing.
 * A server's CPU per request stays meaningful on a loaded machine, where its req/s does not.
 */
export function processCpuMs(pid: number): { userMs: number; systemMs: number } | undefined {
  const text = procFile(pid, 'stat');
  if (text === undefined) return undefined;
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ticks = (i: number): number => Number(fields[i - 3]);
  return { userMs: (ticks(14) * 1000) / TICKS_PER_S, systemMs: (ticks(15) * 1000) / TICKS_PER_S };
}
