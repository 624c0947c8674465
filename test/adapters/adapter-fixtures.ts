// Shared helpers of the adapter tests: temp store directories, a file layer that counts the
// bytes written to the log, cookies out of responses, and gates that hold a request mid-flight.
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer, type RequestListener, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { nodeFileSystem } from '../../src/fs/node-file-system.js';
import type { FileHandle, FileSystem, OpenMode } from '../../src/fs/file-system.js';
import { LOG_FILE_NAMES } from '../../src/format/constants.js';

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `sessiond-${tag}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** node:fs, keeping every byte written to the log files (log-0, log-1) so tests can look at them. */
export class LogBytesFs implements FileSystem {
  private readonly written: Buffer[] = [];
  logBytesWritten = 0;

  /** Everything written to the logs after `mark` (a former logBytesWritten), as text. */
  textSince(mark: number): string {
    return Buffer.concat(this.written).subarray(mark).toString('latin1');
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const fh = await nodeFileSystem.open(path, mode);
    if (!(LOG_FILE_NAMES as readonly string[]).includes(basename(path))) return fh;
    const writev = fh.writev.bind(fh);
    fh.writev = async (buffers, position) => {
      for (const b of buffers) this.written.push(Buffer.from(b));
      this.logBytesWritten += buffers.reduce((n, b) => n + b.byteLength, 0);
      return writev(buffers, position);
    };
    return fh;
  }
  stat(path: string) {
    return nodeFileSystem.stat(path);
  }
  readdir(dir: string) {
    return nodeFileSystem.readdir(dir);
  }
  mkdir(dir: string) {
    return nodeFileSystem.mkdir(dir);
  }
  rename(from: string, to: string) {
    return nodeFileSystem.rename(from, to);
  }
  unlink(path: string) {
    return nodeFileSystem.unlink(path);
  }
  syncDir(dir: string) {
    return nodeFileSystem.syncDir(dir);
  }
}

/** `name=value` of cookie `name` in a response's Set-Cookie headers, for the next request's Cookie header. */
export function cookiePair(setCookie: string | string[] | undefined, name: string): string {
  const all = Array.isArray(setCookie) ? setCookie : setCookie === undefined ? [] : [setCookie];
  const hit = all.find((c) => c.startsWith(`${name}=`));
  if (hit === undefined) throw new Error(`no ${name} cookie in ${JSON.stringify(all)}`);
  return hit.split(';')[0]!;
}

/** A promise the test opens by hand: holds a request between its read and its write. */
export class Gate {
  readonly opened: Promise<void>;
  open!: () => void;
  constructor() {
    this.opened = new Promise((resolve) => (this.open = resolve));
  }
}

/** Resolves when `n` arrivals have been counted. */
export class Arrivals {
  private count = 0;
  private waiters: Array<{ n: number; resolve: () => void }> = [];
  arrive(): void {
    this.count++;
    this.waiters = this.waiters.filter((w) => (w.n <= this.count ? (w.resolve(), false) : true));
  }
  reached(n: number): Promise<void> {
    return n <= this.count ? Promise.resolve() : new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Listens on 127.0.0.1 with a free port; resolves the base URL. */
export function listenLocal(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** What a test (its TestContext) offers to run when it ends. */
export type After = { after(fn: () => Promise<void> | void): void };

/** Serves `app` on 127.0.0.1 for the test; when it ends, closes the server, then runs `then` (closes the store...). */
export async function serveLocal(t: After, app: RequestListener, then: () => Promise<void> | void = () => undefined): Promise<string> {
  const server = createServer(app);
  const url = await listenLocal(server);
  t.after(async () => {
    await closeServer(server);
    await then();
  });
  return url;
}

/** Test option for tests that wait on gates and arrivals: a bug fails them instead of hanging the run. Not a timing assertion. */
export const HANG_GUARD = { timeout: 60_000 } as const;
