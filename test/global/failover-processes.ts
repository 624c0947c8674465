/**
 * Support for the multi-process failover tests: app server processes (global-server.ts)
 * started, killed and restarted by pid, a round-robin HTTP proxy in front of them, and a
 * client that keeps its cookie and counts only complete answers as acknowledged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const SERVER = fileURLToPath(new URL('./global-server.js', import.meta.url));
/** SESSIOND_TEST_LOG_FILE: where the servers' stderr goes in full (besides the last 4000 characters kept for a failure's report). */
const LOG_FILE = process.env.SESSIOND_TEST_LOG_FILE;

/** A short hash of a session ID, for test logs (the ID itself is a secret). */
export function sidHash(sid: string): string {
  return createHash('sha256').update(sid).digest('hex').slice(0, 10);
}

/** The session ID inside a signed express-session cookie (`connect.sid=s%3A<id>.<signature>`). */
export function cookieSid(cookie: string): string {
  const v = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
  return v.startsWith('s:') ? v.slice(2, v.lastIndexOf('.')) : v;
}

export class ServerFleet {
  readonly procs: Array<ChildProcess | undefined> = [];
  readonly ports: number[] = [];
  readonly stderr: string[] = [];
  /** The lines each server's current run printed, and who waits for one. */
  private readonly said: string[][] = [];
  private readonly listeners: Array<() => void> = [];

  constructor(
    private readonly baseDir: string,
    /** A PostgreSQL schema name, or the JSON of the backend's global options (global-server.ts). */
    private readonly backend: string,
    private readonly leaseMs: number,
    private readonly mode: 'through' | 'back' = 'through',
  ) {}

  /** Starts server `i` (on its former port after a restart) and resolves once it listens. */
  start(i: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const args = [SERVER, join(this.baseDir, `web-${i}`), `web-${i}`, this.backend, String(this.leaseMs)];
      if (this.ports[i] !== undefined) args.push(String(this.ports[i]));
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SESSIOND_TEST_MODE: this.mode } });
      this.procs[i] = child;
      let out = '';
      child.stderr!.on('data', (d: Buffer) => {
        this.stderr[i] = ((this.stderr[i] ?? '') + d.toString()).slice(-4000);
        // The whole log of every server, for a failure's diagnosis (SESSIOND_TEST_LOG=1 writes it).
        if (LOG_FILE !== undefined) appendFileSync(LOG_FILE, d);
      });
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        this.said[i] = out.split('\n').slice(0, -1);
        for (const l of this.listeners.splice(0)) l();
        const m = /ready (\d+)/.exec(out);
        if (m !== null) {
          this.ports[i] = Number(m[1]);
          resolve();
        }
      });
      child.on('exit', (code, signal) => {
        if (this.ports[i] === undefined || !/ready/.test(out)) reject(new Error(`server ${i} exited (${code ?? signal}) before ready: ${this.stderr[i] ?? ''}`));
      });
    });
  }

  /** kill -9, and wait for the process to be gone. */
  async kill(i: number): Promise<void> {
    const p = this.procs[i];
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
    this.procs[i] = undefined;
  }

  /** The first line server `i` printed (its current run) that matches `re`, once it has; fails past `waitMs` rather than hang. */
  async line(i: number, re: RegExp, waitMs = 60_000): Promise<string> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const hit = (this.said[i] ?? []).find((l) => re.test(l));
      if (hit !== undefined) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`server ${i} never printed ${String(re)}: ${this.stderr[i] ?? ''}`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left);
        this.listeners.push(() => (clearTimeout(timer), r()));
      });
    }
  }

  signal(i: number, sig: NodeJS.Signals): void {
    this.procs[i]?.kill(sig);
  }

  async stopAll(): Promise<void> {
    for (let i = 0; i < this.procs.length; i++) {
      this.signal(i, 'SIGCONT');
      await this.kill(i);
    }
  }
}

/** A round-robin HTTP proxy over the fleet's ports; a dead backend gives 502, a cut answer is cut for the client too. */
export async function startProxy(ports: () => number[]): Promise<{ port: number; close(): Promise<void> }> {
  let next = 0;
  const server = http.createServer((req, res) => {
    const list = ports();
    const port = list[next++ % list.length]!;
    const up = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers, agent: false }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
      ur.on('aborted', () => res.destroy());
      ur.on('error', () => res.destroy());
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

/** A browser of one user: its cookie, and the answers it got in full. */
export class Client {
  private cookie = '';
  constructor(private readonly base: string) {}

  /** The JSON of a complete 200 answer, or undefined (refused, cut, timed out: not acknowledged). */
  async call(method: string, path: string, cookie = this.cookie, signal: AbortSignal = AbortSignal.timeout(8000)): Promise<Record<string, unknown> | undefined> {
    try {
      const r = await fetch(this.base + path, { method, headers: cookie ? { cookie } : {}, signal });
      const setCookie = r.headers.get('set-cookie');
      const body = await r.text();
      if (r.status !== 200) return undefined;
      const json = JSON.parse(body) as Record<string, unknown>;
      if (setCookie !== null && cookie === this.cookie) this.cookie = setCookie.split(';')[0]!;
      return json;
    } catch {
      return undefined;
    }
  }

  get currentCookie(): string {
    return this.cookie;
  }

  reset(): void {
    this.cookie = '';
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
