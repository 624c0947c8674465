/** true while a process with this pid exists (signal 0 probes without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the pid is gone (bounded by 2 × graceMs). */
export async function stopProcess(pid: number, graceMs = 3000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 2 * graceMs;
  let killed = false;
  while (isAlive(pid) && Date.now() < deadline) {
    if (!killed && Date.now() > deadline - graceMs) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
      killed = true;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
