import { join } from 'node:path';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { packageVersion } from '../lib/package-version.js';
import { startRedisServer, type RedisPersistence } from '../lib/redis-server.js';
import type { Peer, PeerContext } from './peer.js';

/** What `appendfsync` redis-server must report for each persistence (checked, not assumed). */
const APPENDFSYNC: Record<RedisPersistence, { appendonly: string; appendfsync?: string }> = {
  always: { appendonly: 'yes', appendfsync: 'always' },
  everysec: { appendonly: 'yes', appendfsync: 'everysec' },
  none: { appendonly: 'no' },
};

const DURABILITY: Record<RedisPersistence, string> = {
  always: 'every write fsynced before its reply: survives power loss',
  everysec: 'survives a Redis or app crash, loses up to ~1 s on power loss',
  none: 'nothing survives a Redis restart',
};

/**
 * connect-redis 9 + node-redis 5 on a server speaking the Redis protocol on a loopback
 * port: the store an app uses unchanged against redis-server or `sessiond serve`.
 * `stop` stops that server; it runs also when connecting fails.
 */
export async function connectRedisPeer(
  port: number,
  describe: { name: string; durability: string; versions: Record<string, string>; serverPid: number },
  check: (client: ReturnType<typeof createClient>) => Promise<void>,
  stop: () => Promise<void>,
): Promise<Peer> {
  try {
    // disableClientInfo: node-redis 5's CLIENT SETINFO handshake is not part of what is measured.
    const client = createClient({ url: `redis://127.0.0.1:${port}`, disableClientInfo: true });
    client.on('error', () => {});
    await client.connect();
    await check(client);
    const store = new RedisStore({ client, prefix: 'sess:' });
    return {
      ...describe,
      versions: { 'connect-redis': packageVersion('connect-redis'), redis: packageVersion('redis'), ...describe.versions },
      store,
      close: async () => {
        try {
          await client.close();
        } finally {
          await stop();
        }
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** connect-redis on the bench's own redis-server (loopback), persisting as `persistence` says. */
export function redisPeer(persistence: RedisPersistence, name: string): (ctx: PeerContext) => Promise<Peer> {
  return async (ctx) => {
    const server = await startRedisServer(join(ctx.dir, 'redis'), persistence);
    return connectRedisPeer(
      server.port,
      { name, durability: `Redis ${server.version} ${server.config}: ${DURABILITY[persistence]}`, versions: { 'redis-server': server.version }, serverPid: server.pid },
      async (client) => {
        const want = APPENDFSYNC[persistence];
        const got = { ...(await client.configGet('appendonly')), ...(await client.configGet('appendfsync')) };
        if (got.appendonly !== want.appendonly || (want.appendfsync !== undefined && got.appendfsync !== want.appendfsync)) {
          throw new Error(`redis-server runs with ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
        }
      },
      () => server.stop(),
    );
  };
}

/** connect-redis on redis-server with AOF fsync every second (the main bench's `redis`). */
export const createRedisPeer = redisPeer('everysec', 'connect-redis');
