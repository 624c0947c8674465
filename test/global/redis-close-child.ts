/**
 * Test support (redis-close-offline.test.ts), run as its own process: opens a Redis store
 * on the URL in argv[2], answers one command, says "ready", closes the store when told
 * "close" on stdin, says "closed", and then has nothing left to do: the process exits
 * unless the store left something running.
 */
import { createInterface } from 'node:readline';
import { RedisGlobalStore } from '../../src/global/redis/redis-global-store.js';

const store = await RedisGlobalStore.create({ redis: { url: process.argv[2]! }, app: 'close', keyPrefix: `sessiond-test:close:${process.pid}:`, sessionTtlMs: 60_000, timeoutMs: 5000 });
await store.count(); // connected, so the offline gate is on
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line !== 'close') continue;
  await store.close();
  process.stdout.write('closed\n');
  lines.close();
}
