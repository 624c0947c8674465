// Runs `sessiond serve` as a child process (the CLI, as an operator would), waiting for its
// one "sessiond serving <dir> on <host>:<port>" line.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** The exact line it printed. */
  readonly line: string;
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
  output(): string;
}

export function spawnServer(dir: string, args: readonly string[] = ['--port', '0']): Promise<ServerProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /^sessiond serving .* on [^\n]*:(\d+)\n/m.exec(out);
      if (m !== null) {
        child.stdout!.off('data', onData);
        child.stdout!.on('data', (more: Buffer) => (out += more.toString()));
        resolve({ child, port: Number(m[1]), line: m[0].trimEnd(), exited, output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    void exited.then((code) => reject(new Error(`sessiond serve exited (${code}) before serving:\n${out}`)));
  });
}

/** Runs a command to completion without blocking the event loop (an in-process server must keep serving). */
export function run(cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
