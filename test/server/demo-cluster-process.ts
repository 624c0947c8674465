// Starts `npm run demo:cluster`'s supervisor (demo/cluster/run.ts) for a test: its own process
// group, so nothing of it (primary, workers, sessiond serve) outlives the test, and its output
// watched for the lines it prints.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { freeLoopbackPort } from '../../bench/lib/free-port.js';
import { removeDir, tempDir } from '../adapters/adapter-fixtures.js';

const RUN = fileURLToPath(new URL('../../demo/cluster/run.js', import.meta.url));
/** A guard against a demo whose primary ignores SIGTERM, not a timing assertion. */
const STOP_GUARD_MS = 10_000;

export interface ClusterDemo {
  /** The app's URL, e.g. http://127.0.0.1:PORT */
  readonly url: string;
  /** pid of the first sessiond serve the supervisor started. */
  readonly firstSessiondPid: number;
  /** Resolves with the first match of `re` in the output from character `from` on. */
  waitFor(re: RegExp, from?: number): Promise<RegExpExecArray>;
  /** Everything printed so far (stdout and stderr). */
  output(): string;
  /** Stops the demo with SIGTERM; resolves with its exit code. */
  stop(): Promise<number | null>;
}

export async function startClusterDemo(t: TestContext, tag: string): Promise<ClusterDemo> {
  const dataDir = tempDir(tag);
  t.after(() => removeDir(dataDir));
  const sessiondPort = await freeLoopbackPort();
  const child = spawn(process.execPath, [RUN], { env: { ...process.env, DATA_DIR: dataDir, PORT: '0', SESSIOND_PORT: String(sessiondPort) }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const stop = async (): Promise<number | null> => {
    child.kill('SIGTERM');
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), STOP_GUARD_MS);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  t.after(async () => {
    await stop();
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // the whole group is gone already
    }
  });
  let out = '';
  const waiters: (() => void)[] = [];
  const onOut = (d: Buffer): void => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout.on('data', onOut);
  child.stderr.on('data', onOut);
  const waitFor = async (re: RegExp, from = 0): Promise<RegExpExecArray> => {
    for (;;) {
      const m = re.exec(out.slice(from));
      if (m !== null) return m;
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  const url = (await waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+) \(2 workers\)/))[1]!;
  const firstSessiondPid = Number((await waitFor(/sessiond serve started \(pid (\d+)\)/))[1]);
  return { url, firstSessiondPid, waitFor, output: () => out, stop };
}
