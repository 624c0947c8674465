import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stopProcess } from './stop-process.js';

const EXIT_MS_MAX = 30_000;

/** A message between the bench and one of its children: `type` plus whatever the step needs. */
export interface ChildMessage {
  type: string;
  [field: string]: unknown;
}

export interface BenchChildOptions {
  /** flags for node itself, e.g. --expose-gc or --cpu-prof */
  execArgv?: string[];
  /** hard limit on any one wait for a message; the child is killed when it passes */
  waitMsMax: number;
}

/**
 * A bench script (dist/bench/<name>.js) in its own process, so each store has its own heap
 * and peak RSS. Talks over IPC; killed by pid when the bench is done with it or gives up.
 */
export class BenchChild {
  readonly pid: number;
  private readonly child: ChildProcess;
  private readonly inbox: ChildMessage[] = [];
  private waiter: (() => void) | undefined;
  private exited: string | undefined;
  private stderr = '';

  private constructor(child: ChildProcess, private readonly waitMsMax: number) {
    if (child.pid === undefined) throw new Error('child did not start');
    this.pid = child.pid;
    this.child = child;
    child.on('message', (m: ChildMessage) => {
      this.inbox.push(m);
      this.waiter?.();
    });
    child.stderr?.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-8000)));
    child.on('exit', (code, signal) => {
      this.exited = `exited with ${signal ?? code}`;
      this.waiter?.();
    });
  }

  /** Starts `dist/bench/<script>.js` with `payload` (JSON) as its first argument. */
  static start(script: string, payload: unknown, options: BenchChildOptions): BenchChild {
    const path = fileURLToPath(new URL(`../${script}.js`, import.meta.url));
    const child = fork(path, [JSON.stringify(payload)], {
      execArgv: options.execArgv ?? [],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    return new BenchChild(child, options.waitMsMax);
  }

  send(message: ChildMessage): void {
    this.child.send(message);
  }

  /** The next message of `type`; rejects (and kills the child) on an error message, exit or timeout. */
  async next<T extends ChildMessage>(type: string, waitMs = this.waitMsMax): Promise<T> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.type === type || m.type === 'error');
      if (i >= 0) {
        const m = this.inbox.splice(i, 1)[0]!;
        if (m.type === 'error') {
          await this.kill();
          throw new Error(`child ${this.pid}: ${String(m.message)}\n${String(m.stack ?? '')}`);
        }
        return m as T;
      }
      if (this.exited !== undefined) throw new Error(`child ${this.pid} ${this.exited} before sending '${type}'\n${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        await this.kill();
        throw new Error(`child ${this.pid} sent no '${type}' within ${waitMs} ms\n${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  /**
   * The child's 'result', once it has also exited on its own (a --cpu-prof profile is written
   * on the way out); killed when it does not exit within EXIT_MS_MAX.
   */
  async result<T>(): Promise<T> {
    const m = await this.next<ChildMessage & { result: T }>('result');
    await this.exit(EXIT_MS_MAX);
    return m.result;
  }

  /** Resolves once the child has exited (or after `waitMs`, then it is killed). */
  async exit(waitMs = this.waitMsMax): Promise<void> {
    const deadline = Date.now() + waitMs;
    while (this.exited === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (this.exited === undefined) await this.kill();
  }

  /** SIGKILL, the way a crash ends a process; resolves once it is gone. */
  async crash(): Promise<void> {
    if (this.exited === undefined) process.kill(this.pid, 'SIGKILL');
    await this.exit(5000);
  }

  async kill(): Promise<void> {
    if (this.exited === undefined) await stopProcess(this.pid, 2000);
  }
}
