import { join } from 'node:path';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { packageVersion } from '../lib/package-version.js';
import { startRedisServer } from '../lib/redis-server.js';
import type { Peer, PeerContext } from './peer.js';

/** connect-redis on the bench's own redis-server (loopback, AOF fsync every second). */
export async function createRedisPeer(ctx: PeerContext): Promise<Peer> {
  const server = await startRedisServer(join(ctx.dir, 'redis'));
  try {
    const client = createClient({ url: `redis://127.0.0.1:${server.port}` });
    client.on('error', () => {});
    await client.connect();
    const aof = await client.configGet('appendfsync');
    if (aof.appendfsync !== 'everysec') throw new Error(`redis appendfsync is ${aof.appendfsync}, expected everysec`);
    const store = new RedisStore({ client, prefix: 'sess:' });
    return {
      name: 'connect-redis',
      durability: `Redis ${server.version} ${server.config}: survives a Redis or app crash, loses up to ~1 s on power loss`,
      versions: { 'connect-redis': packageVersion('connect-redis'), redis: packageVersion('redis'), 'redis-server': server.version },
      store,
      serverPid: server.pid,
      close: async () => {
        try {
          await client.close();
        } finally {
          await server.stop();
        }
      },
    };
  } catch (e) {
    await server.stop();
    throw e;
  }
}
