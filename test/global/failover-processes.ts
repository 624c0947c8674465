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

/** A server process: `warm` once a standby has loaded its modules, `ready` once it listens. */
interface Spawned {
  readonly child: ChildProcess;
  readonly warm: Promise<void>;
  readonly ready: Promise<void>;
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

  /** How long each server's current process took from its start (a standby's: its go) to listening. */
  readonly openedMs: number[] = [];
  /** The next process of each server, started ahead and waiting (prepare). */
  private readonly standbys: Array<Spawned | undefined> = [];

  /** Starts server `i` (on its former port after a restart) and resolves once it listens; with a standby (prepare), that one. */
  start(i: number): Promise<void> {
    const s = this.standbys[i] ?? this.spawn(i, false);
    this.standbys[i] = undefined;
    this.procs[i] = s.child;
    this.said[i] = [];
    s.child.stdin?.write('go\n');
    return s.ready;
  }

  /**
   * Starts the next process of server `i` now, its modules loaded, waiting to open its store
   * until start(i): a restart then costs what the store's restart costs (open, replay,
   * register), not Node's start on a loaded machine, which took longer than back mode's
   * lease in CI (9,897 ms against 7,000: a logout lost, as guarantee 5 allows past the lease).
   */
  prepare(i: number): Promise<void> {
    const s = (this.standbys[i] ??= this.spawn(i, true));
    return s.warm;
  }

  private spawn(i: number, standby: boolean): Spawned {
    const args = [SERVER, join(this.baseDir, `web-${i}`), `web-${i}`, this.backend, String(this.leaseMs)];
    if (this.ports[i] !== undefined) args.push(String(this.ports[i]));
    const env = { ...process.env, SESSIOND_TEST_MODE: this.mode, SESSIOND_TEST_STANDBY: standby ? '1' : '0' };
    const child = spawn(process.execPath, args, { stdio: [standby ? 'pipe' : 'ignore', 'pipe', 'pipe'], env });
    /** This process is server i's current one (a standby's output is its own until then). */
    const current = (): boolean => this.procs[i] === child;
    let out = '';
    let err = '';
    let warmed: () => void = () => undefined;
    const warm = new Promise<void>((r) => (warmed = r));
    const ready = new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        err = (err + d.toString()).slice(-4000);
        if (current()) this.stderr[i] = err;
        // The whole log of every server, for a failure's diagnosis (SESSIOND_TEST_LOG=1 writes it).
        if (LOG_FILE !== undefined) appendFileSync(LOG_FILE, d);
      });
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/^standby$/m.test(out)) warmed();
        if (!current()) return;
        this.said[i] = out.split('\n').slice(0, -1);
        for (const l of this.listeners.splice(0)) l();
        const m = /ready (\d+)(?: \(store opened in (\d+) ms\))?/.exec(out);
        if (m !== null) {
          this.ports[i] = Number(m[1]);
          this.openedMs[i] = Number(m[2] ?? NaN);
          resolve();
        }
      });
      child.on('exit', (code, signal) => {
        warmed();
        if (!/ready/.test(out)) reject(new Error(`server ${i} exited (${code ?? signal}) before ready: ${err}`));
      });
    });
    ready.catch(() => undefined); // a standby never started, killed at the end, is no failure
    return { child, warm, ready };
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
    for (const s of this.standbys.splice(0)) {
      if (s === undefined || s.child.exitCode !== null || s.child.signalCode !== null) continue;
      const gone = new Promise((r) => s.child.once('exit', r));
      s.child.kill('SIGKILL');
      await gone;
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
