// Helpers of the server tests: a server on a free port over a temp store, and a raw RESP
// client that sends exact bytes and decodes exact replies (errors kept as text).
import { connect, type Socket } from 'node:net';
import { serve, type SessiondServer } from '../../src/server/server.js';
import type { ServerOptionsInput } from '../../src/server/server-options.js';
import { removeDir, tempDir, type After } from '../adapters/adapter-fixtures.js';

export interface TestServer {
  readonly server: SessiondServer;
  readonly port: number;
  readonly dir: string;
  close(): Promise<void>;
}

export async function startServer(options: Partial<ServerOptionsInput> = {}, dir = tempDir('serve')): Promise<TestServer> {
  const server = await serve({ port: 0, ...options, dir });
  return {
    server,
    port: server.port!,
    dir,
    async close() {
      await server.close();
      removeDir(dir);
    },
  };
}

/** A server as startServer makes it and a raw client connected to it, both closed when the test ends (the server first). */
export async function startWithClient(t: After, options: Partial<ServerOptionsInput> = {}): Promise<{ s: TestServer; c: RawClient }> {
  const s = await startServer(options);
  t.after(() => s.close());
  const c = await RawClient.connect(s.port);
  t.after(() => c.close());
  return { s, c };
}

/** A decoded reply: errors become { error: text }, bulk strings Buffers, maps Maps. */
export type Decoded = string | number | Buffer | null | { error: string } | Decoded[] | Map<Decoded, Decoded>;

export class RawClient {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
  }

  /** To a port on 127.0.0.1, or to a Unix socket path. */
  static connect(to: number | string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = typeof to === 'number' ? connect(to, '127.0.0.1', () => resolve(new RawClient(s))) : connect(to, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  write(bytes: string | Buffer): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /** Sends commands as RESP arrays (pipelined when several). */
  send(...commands: (string | Buffer)[][]): void {
    const parts: Buffer[] = [];
    for (const args of commands) {
      parts.push(Buffer.from(`*${args.length}\r\n`));
      for (const a of args) {
        const b = typeof a === 'string' ? Buffer.from(a, 'utf8') : a;
        parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
      }
    }
    this.write(Buffer.concat(parts));
  }

  async call(...args: (string | Buffer)[]): Promise<Decoded> {
    this.send(args);
    return this.reply();
  }

  /** The next reply; rejects if the connection closes first. */
  async reply(): Promise<Decoded> {
    for (;;) {
      const r = decode(this.buf, 0);
      if (r !== undefined) {
        this.buf = this.buf.subarray(r.end);
        return r.value;
      }
      if (this.closed) throw new Error('connection closed');
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Resolves once the server has closed the connection. */
  async whenClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.socket.destroy();
  }
}

function decode(buf: Buffer, at: number): { value: Decoded; end: number } | undefined {
  const nl = buf.indexOf('\r\n', at);
  if (nl === -1) return undefined;
  const type = String.fromCharCode(buf[at]!);
  const line = buf.toString('latin1', at + 1, nl);
  const next = nl + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: { error: line }, end: next };
    case ':':
      return { value: Number(line), end: next };
    case '_':
      return { value: null, end: next };
    case '$': {
      const n = Number(line);
      if (n === -1) return { value: null, end: next };
      if (buf.length < next + n + 2) return undefined;
      return { value: Buffer.from(buf.subarray(next, next + n)), end: next + n + 2 };
    }
    case '*':
    case '%': {
      const n = Number(line);
      if (n === -1) return { value: null, end: next };
      const items: Decoded[] = [];
      let end = next;
      for (let i = 0; i < (type === '%' ? 2 * n : n); i++) {
        const r = decode(buf, end);
        if (r === undefined) return undefined;
        items.push(r.value);
        end = r.end;
      }
      if (type === '*') return { value: items, end };
      const m = new Map<Decoded, Decoded>();
      for (let i = 0; i < items.length; i += 2) m.set(String(items[i]), items[i + 1]!);
      return { value: m, end };
    }
    default:
      throw new Error(`test client: unexpected reply type ${JSON.stringify(type)}`);
  }
}

/** Bulk replies as text, recursively, for deepEqual. */
export function text(d: Decoded): unknown {
  if (Buffer.isBuffer(d)) return d.toString('latin1');
  if (Array.isArray(d)) return d.map(text);
  if (d instanceof Map) return new Map([...d].map(([k, v]) => [text(k), text(v)]));
  return d;
}

export const HANG_GUARD = { timeout: 60_000 };
