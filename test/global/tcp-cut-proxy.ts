/**
 * A TCP proxy the test controls, between a client and PostgreSQL or Redis: cut() drops
 * every connection and refuses new ones (the database "disappears" without touching the
 * machine's server), heal() lets connections through again; stall() holds what clients
 * send (kept in `held`) so their commands stay in flight until the cut.
 */
import net from 'node:net';

export class TcpCutProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private isCut = false;
  private stalled = false;
  /** What clients sent while stalled (never forwarded), as latin1 text. */
  held = '';

  private constructor(private readonly targetPort: number) {
    this.server = net.createServer((client) => {
      if (this.isCut) return void client.destroy();
      const upstream = net.connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.on('data', (d: Buffer) => {
        if (this.stalled) this.held += d.toString('latin1');
        else upstream.write(d);
      });
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
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

  stall(): void {
    this.stalled = true;
  }

  cut(): void {
    this.isCut = true;
    this.stalled = false;
    for (const s of this.sockets) s.destroy();
  }

  heal(): void {
    this.isCut = false;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((r) => this.server.close(() => r()));
  }
}
