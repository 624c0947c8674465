import { createClient, type RedisClientType } from 'redis';
import { createClusterDemoApp } from './app.js';

/** One cluster worker: its own node-redis connection to `sessiond serve`, the shared HTTP port. */
export async function runWorker(redisUrl: string, port: number, secret: string): Promise<void> {
  // disableClientInfo: node-redis 5.9 ignores every error of its CLIENT SETINFO handshake,
  // a reset included, so a reconnect racing a dying server could end "ready" on a dead socket.
  const client = createClient({ url: redisUrl, disableClientInfo: true, socket: { reconnectStrategy: (retries) => Math.min(50 * (retries + 1), 1000) } }) as RedisClientType;
  client.on('error', () => undefined); // reported by the requests that fail; the client reconnects
  await client.connect();
  const server = createClusterDemoApp(client, secret).listen(port, '127.0.0.1');
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    client.destroy();
    process.disconnect?.(); // the IPC channel to the primary would keep the worker alive
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
