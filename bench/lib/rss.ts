import { procFile } from './proc-file.js';

/** Peak resident set of this process so far (getrusage ru_maxrss), in bytes. */
export function rssPeakBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** Current resident set of this process, in bytes. */
export function rssBytes(): number {
  return process.memoryUsage.rss();
}

/**
 * Peak and current resident set of another process (a server the bench started), from
 * /proc/<pid>/status (VmHWM, VmRSS); undefined when the process is gone or /proc is missing.
 */
export function processRss(pid: number): { peakBytes: number; currentBytes: number } | undefined {
  const text = procFile(pid, 'status');
  if (text === undefined) return undefined;
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  return { peakBytes: kib('VmHWM'), currentBytes: kib('VmRSS') };
}

/** Runs the collector (when node was started with --expose-gc) until the heap stops shrinking. */
export async function settleHeap(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return;
  let last = Infinity;
  for (let i = 0; i < 6; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
    const used = process.memoryUsage().heapUsed;
    if (used >= last * 0.99) break;
    last = used;
  }
}
