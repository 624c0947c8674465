/**
 * A TCP proxy the test controls, between a client and PostgreSQL or Redis: cut() drops
 * every connection and refuses new ones (the database "disappears" without touching the
 * machine's server), heal() lets connections through again; stall() holds what clients
 * send (kept in `held`) so their commands stay in flight until the cut.
 */
import net from 'node:net';

/** One client connection: where its bytes go, and what a stall holds back from it. */
interface Link {
  readonly upstream: net.Socket;
  pending: Buffer[];
  /** The last bytes seen (latin1), so a `stall(from)` text split across two chunks is still found. */
  tail: string;
}

export class TcpCutProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly links = new Set<Link>();
  private isCut = false;
  /** undefined: forwarding; '': holding everything; otherwise forwarding until a client sends this text. */
  private stallFrom: string | undefined;
  private holding = false;
  /** What clients sent while held (never forwarded unless healed before a cut), as latin1 text. */
  held = '';

  private constructor(private readonly targetPort: number) {
    this.server = net.createServer((client) => {
      if (this.isCut) return void client.destroy();
      const link: Link = { upstream: net.connect(this.targetPort, '127.0.0.1'), pending: [], tail: '' };
      this.links.add(link);
      for (const s of [client, link.upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.on('data', (d: Buffer) => this.fromClient(link, d));
      link.upstream.pipe(client);
      client.on('close', () => {
        this.links.delete(link);
        link.upstream.destroy();
      });
      link.upstream.on('close', () => client.destroy());
    });
  }

  static async start(targetPort = 5432): Promise<TcpCutProxy> {
    const p = new TcpCutProxy(targetPort);
    await new Promise<void>((r) => p.server.listen(0, '127.0.0.1', r));
    return p;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  private fromClient(link: Link, d: Buffer): void {
    const text = d.toString('latin1');
    if (!this.holding && this.stallFrom !== undefined && (link.tail + text).includes(this.stallFrom)) this.holding = true;
    if (this.stallFrom !== undefined) link.tail = (link.tail + text).slice(-this.stallFrom.length);
    if (!this.holding) return void link.upstream.write(d);
    this.held += text;
    link.pending.push(d);
  }

  /**
   * Holds what clients send from now on; with `from`, only from the chunk in which a client
   * sends that text: what was sent before goes on and is answered. A client that pipelines
   * (ioredis) sends nothing more while an earlier command is unanswered, so holding a
   * command of its own background work, sent a moment before, would keep the test's command
   * off the wire; `from` holds exactly the command the test is about.
   */
  stall(from = ''): void {
    this.stallFrom = from;
    this.holding = from === '';
    for (const link of this.links) link.tail = '';
  }

  /** Drops every connection (what was held is lost) and refuses new ones until heal(). */
  cut(): void {
    this.isCut = true;
    this.stallFrom = undefined;
    this.holding = false;
    for (const s of this.sockets) s.destroy();
  }

  /** Lets connections through again; what a stall held without a cut goes on now, in order. */
  heal(): void {
    this.isCut = false;
    this.stallFrom = undefined;
    this.holding = false;
    for (const link of this.links) {
      for (const d of link.pending) link.upstream.write(d);
      link.pending = [];
    }
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/**
 * Test support: closes what was opened behind `proxy` without ever hanging an after hook.
 * Heals the proxy first (a test that failed mid-stall would otherwise leave commands held,
 * each then waiting out the client's command timeout); whatever is still closing after
 * `graceMs` is cut off for good, so every command it still waits for fails at once.
 */
export async function closeBehind(proxy: TcpCutProxy | undefined, closers: ReadonlyArray<{ close(): Promise<void> } | undefined>, graceMs = 30_000): Promise<void> {
  proxy?.heal();
  const closing = (async () => {
    for (const c of closers) await c?.close().catch(() => undefined);
  })();
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([closing.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(r, graceMs, true)))]);
  clearTimeout(timer);
  await proxy?.close();
  if (late) await closing;
}
