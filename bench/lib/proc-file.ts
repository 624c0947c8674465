import { readFileSync } from 'node:fs';

/** The text of /proc/<pid>/<file> of another process; undefined when the process is gone or /proc is missing. */
export function procFile(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}
