/**
 * A TCP proxy the test controls, between a client and PostgreSQL: cut() drops every
 * connection and refuses new ones (the database "disappears" without touching the
 * machine's PostgreSQL), heal() lets connections through again.
 */
import net from 'node:net';

export class TcpCutProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private isCut = false;

  private constructor(private readonly targetPort: number) {
    this.server = net.createServer((client) => {
      if (this.isCut) return void client.destroy();
      const upstream = net.connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
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

  cut(): void {
    this.isCut = true;
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
