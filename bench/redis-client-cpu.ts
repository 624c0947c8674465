/**
 * CPU per command of the Redis clients, one process, the machine's Redis: an EVALSHA of a
 * small script with the 8 arguments of a turn, from 32 loops at once, 40,000 calls a round.
 * Kinds: `ioredis` (auto-pipelining, as sessiond opened its client before), `ioredis-direct`
 * (a write per command), `ioredis-corked` (a write per loop iteration, src/global/redis/loop-writes.ts,
 * what sessiond opens now), `node-redis` (what connect-redis uses).
 * `node dist/bench/redis-client-cpu.js <kind> [calls]`; set REDIS_COMMAND_TIMEOUT_MS to give
 * ioredis a command timeout (sessiond gives leaseMs).
 */
import { Redis } from 'ioredis';
import { writePerLoop } from '../src/global/redis/loop-writes.js';
import type { RedisArg } from '../src/global/redis/redis-types.js';

const kind = process.argv[2] ?? 'ioredis-corked';
const N = Number(process.argv[3] ?? 40_000);
const URL = process.env.SESSIOND_BENCH_REDIS ?? 'redis://127.0.0.1:6379';
const timeout = process.env.REDIS_COMMAND_TIMEOUT_MS === undefined ? undefined : Number(process.env.REDIS_COMMAND_TIMEOUT_MS);
const SRC = "redis.call('HMGET', KEYS[1], 'o', 'e') return {'ok', ARGV[1], ARGV[2], 'x', 'y', '1', '2', '3', '4'}";
const ARGS = ['1764640000000', 'server-0', '12', '5000', '7', '', '', '0'];
const key = (i: number): string => `sessiond-client-cpu:${process.pid}:{app:Sess${i % 32}xxxxxxxxxxxxxxxxxxxx}`;

let send: (i: number) => Promise<unknown>;
let close: () => Promise<unknown>;
if (kind.startsWith('ioredis')) {
  const r = new Redis(URL, { commandTimeout: timeout, enableAutoPipelining: kind === 'ioredis' });
  const sha = (await r.script('LOAD', SRC)) as string;
  const c = kind === 'ioredis-corked' ? writePerLoop({ call: (cmd: string, ...a: RedisArg[]) => r.call(cmd, ...a), quit: () => r.quit() }, r) : r;
  send = (i) => c.call('EVALSHA', sha, 1, key(i), ...ARGS);
  close = () => r.quit();
} else if (kind === 'node-redis') {
  const { createClient } = await import('redis');
  const c = createClient({ url: URL });
  await c.connect();
  const sha = await c.scriptLoad(SRC);
  send = (i) => c.sendCommand(['EVALSHA', sha, '1', key(i), ...ARGS]);
  close = () => c.quit();
} else {
  throw new Error(`unknown kind ${kind}: ioredis, ioredis-direct, ioredis-corked, node-redis`);
}

async function round(n: number): Promise<string> {
  let left = n;
  const t0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: 32 }, async (_, c) => {
      for (let i = c; left-- > 0; i += 32) await send(i);
    }),
  );
  const u = process.cpuUsage(t0);
  return `${kind}: ${((u.user + u.system) / n).toFixed(1)} µs CPU/command (user ${(u.user / n).toFixed(1)}, system ${(u.system / n).toFixed(1)})`;
}

await round(5000); // warm-up
for (let k = 0; k < 3; k++) console.log(await round(N));
await close();
