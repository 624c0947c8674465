// The same commands against sessiond serve and against the machine's redis-server
// (127.0.0.1:6379, keys under a prefix of this run's own, deleted at the end): every reply
// must be the same, error texts included. TTL and PTTL replies are compared by kind
// (-2, -1, or a positive time left), never by their value. Under CI=true a missing
// redis-server fails the test; elsewhere it skips loudly.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type Decoded, HANG_GUARD, RawClient, startServer, text } from './server-fixtures.js';

const REDIS_PORT = Number(process.env.SESSIOND_TEST_REDIS_PORT ?? 6379);

async function redisMissing(): Promise<string | undefined> {
  try {
    const c = await RawClient.connect(REDIS_PORT);
    try {
      const pong = await c.call('PING');
      const info = text(await c.call('INFO', 'server')) as string;
      const version = /redis_version:(\d+)/.exec(info)?.[1];
      if (pong !== 'PONG' || version === undefined || Number(version) < 7) return `redis-server on ${REDIS_PORT} is not Redis 7 (${String(version)})`;
      return undefined;
    } finally {
      c.close();
    }
  } catch (e) {
    const why = `redis-server on 127.0.0.1:${REDIS_PORT} is not reachable (${(e as Error).message})`;
    if (process.env.CI === 'true') throw new Error(`${why}: the parity test needs it under CI`);
    console.error(`\n!!! SKIPPING the sessiond serve / redis-server parity test: ${why} !!!\n`);
    return why;
  }
}

/** A step: the command (K1... stand for this run's keys) and how its reply is compared. */
type Step = [args: string[], compare?: 'ttl'];

const FAR_S = '4102444800'; // 2100-01-01, in seconds

const STEPS: Step[] = [
  // EXPIRE / PEXPIRE conditions (Redis 7): no expiry counts as an infinite TTL.
  [['SET', 'K1', 'v']],
  [['EXPIRE', 'K1', '100', 'NX']],
  [['EXPIRE', 'K1', '200', 'NX']],
  [['EXPIRE', 'K1', '50', 'XX']],
  [['EXPIRE', 'K1', '100', 'GT']],
  [['EXPIRE', 'K1', '10', 'GT']],
  [['EXPIRE', 'K1', '10', 'lt']],
  [['EXPIRE', 'K1', '500', 'LT']],
  [['TTL', 'K1'], 'ttl'],
  [['SET', 'K2', 'v']],
  [['EXPIRE', 'K2', '100', 'XX']],
  [['EXPIRE', 'K2', '100', 'GT']],
  [['TTL', 'K2'], 'ttl'],
  [['EXPIRE', 'K2', '100', 'LT']],
  [['TTL', 'K2'], 'ttl'],
  [['SET', 'K3', 'v']],
  [['EXPIRE', 'K3', '10', 'XX', 'GT']],
  [['PEXPIRE', 'K3', '100000', 'nx']],
  [['PEXPIRE', 'K3', '50000', 'xx', 'lt']], // not 100 ms: on a loaded machine K3 expired before the next step (CI)
  [['PTTL', 'K3'], 'ttl'],
  [['PEXPIRE', 'K3', '100000', 'XX', 'GT']],
  [['EXPIRE', 'K3', '200', 'GT', 'GT']], // not 100: after PEXPIRE 100000 that compares equal times when both land in one ms
  [['EXPIRE', 'KX', '10']],
  [['EXPIRE', 'KX', '10', 'NX']],
  [['EXPIRE', 'KX', 'abc']],
  [['EXPIRE', 'K1', '10', 'NX', 'XX']],
  [['EXPIRE', 'K1', 'abc', 'NX', 'XX']],
  [['EXPIRE', 'K1', 'abc', 'foo']],
  [['EXPIRE', 'K1', '10', 'GT', 'LT']],
  [['EXPIRE', 'K1', '10', 'NX', 'GT']],
  [['EXPIRE', 'K1', '10', 'foo']],
  [['EXPIRE', 'K1', '99999999999999999']],
  [['PEXPIRE', 'K1', '9223372036854775807']],
  [['PEXPIRE', 'K1', '9223372036854775808']],
  [['EXPIRE', 'K1', '1.5']],
  [['EXPIRE', 'K1', '-0']],
  [['EXPIRE', 'K1', '+5']],
  [['EXPIRE', 'K1', '']],
  [['EXPIRE', 'K1']],
  [['SET', 'K4', 'v']],
  [['EXPIRE', 'K4', '-1']],
  [['EXISTS', 'K4']],
  [['SET', 'K5', 'v']],
  [['PEXPIRE', 'K5', '0', 'NX']],
  [['GET', 'K5']],
  // GETEX: words first, then the key (a missing key is nil), then the number.
  [['GETEX', 'KX', 'EX', 'abc']],
  [['GETEX', 'KX', 'EX', '0']],
  [['GETEX', 'KX', 'EX']],
  [['GETEX', 'KX', 'FOO']],
  [['SET', 'K6', 'v6']],
  [['GETEX', 'K6', 'EX', 'abc']],
  [['GETEX', 'K6', 'EX', '0']],
  [['GETEX', 'K6', 'PX', '-5']],
  [['GETEX', 'K6', 'EX', '10', 'PX', '10']],
  [['GETEX', 'K6', 'PERSIST', 'EX', '10']],
  [['GETEX', 'K6', 'EX', '10', 'PERSIST']],
  [['GETEX', 'K6', 'PERSIST', 'PERSIST']],
  [['GETEX', 'K6', 'EX']],
  [['GETEX', 'K6', 'EX', '5', 'EX', '7']],
  [['TTL', 'K6'], 'ttl'],
  [['GETEX', 'K6', 'EX', '5', 'PX', '7']],
  [['GETEX', 'K6', 'EX', '99999999999999999']],
  [['GETEX', 'K6']],
  [['TTL', 'K6'], 'ttl'],
  [['GETEX', 'K6', 'ex', '100']],
  [['TTL', 'K6'], 'ttl'],
  [['GETEX', 'K6', 'PERSIST']],
  [['TTL', 'K6'], 'ttl'],
  [['GETEX', 'K6', 'EXAT', FAR_S]],
  [['TTL', 'K6'], 'ttl'],
  [['GETEX', 'K6', 'PXAT', '1']],
  [['EXISTS', 'K6']],
  // SET's options: words first, then the number.
  [['SET', 'K7', 'v', 'EX', 'abc']],
  [['SET', 'K7', 'v', 'EX', '0']],
  [['SET', 'K7', 'v', 'EX', '10', 'KEEPTTL']],
  [['SET', 'K7', 'v', 'KEEPTTL', 'EX', '10']],
  [['SET', 'K7', 'v', 'EX', 'abc', 'FOO']],
  [['SET', 'K7', 'v', 'NX', 'XX']],
  [['SET', 'K7', 'v', 'EX']],
  [['SET', 'K7', 'v', 'EX', '99999999999999999']],
  [['SET', 'K7', 'v', 'PX', '9223372036854775807']],
  [['SET', 'K7', 'v', 'EX', '10', 'NX']],
  [['SET', 'K7', 'v', 'NX', 'NX']],
  [['SET', 'K7', 'v', 'XX', 'XX', 'EX', '5', 'EX', '20', 'KEEPTTL']],
  [['SET', 'K7', 'v', 'XX', 'XX', 'EX', '5', 'EX', '20']],
  [['TTL', 'K7'], 'ttl'],
  [['SET', 'K7', 'v', 'KEEPTTL', 'KEEPTTL', 'GET', 'GET']],
  [['SET', 'K7', 'v', 'PX', '100000', 'EX', '20']],
  [['SET', 'K7', 'w', 'XX', 'GET']],
  [['SET', 'K7', 'x', 'NX', 'GET']],
  [['TTL', 'K7'], 'ttl'],
  [['SET', 'K7', 'y', 'KEEPTTL']],
  [['TTL', 'K7'], 'ttl'],
  [['PERSIST', 'K7']],
  [['PERSIST', 'K7']],
  [['PERSIST', 'KX']],
  [['TTL', 'K7'], 'ttl'],
  [['TTL', 'KX'], 'ttl'],
  [['SET', 'K8', 'v', 'EXAT', FAR_S]],
  [['EXPIRE', 'K8', '10', 'GT']],
  [['EXPIRE', 'K8', '10', 'LT']],
  [['TTL', 'K8'], 'ttl'],
];

function ttlKind(d: Decoded): unknown {
  return typeof d === 'number' && d > 0 ? 'positive' : d;
}

describe('sessiond serve replies as redis-server 7 does', () => {
  it('EXPIRE/PEXPIRE NX XX GT LT, GETEX and SET options, with their errors', HANG_GUARD, async (t) => {
    if ((await redisMissing()) !== undefined) return t.skip('redis-server missing');
    const prefix = `sessiond-parity-${process.pid}-${randomBytes(4).toString('hex')}:`;
    const s = await startServer();
    t.after(() => s.close());
    const ours = await RawClient.connect(s.port);
    t.after(() => ours.close());
    const redis = await RawClient.connect(REDIS_PORT);
    const keys = new Set<string>();
    t.after(async () => {
      if (keys.size > 0) await redis.call('DEL', ...keys);
      redis.close();
    });
    const key = (a: string): string => (/^K[0-9X]$/.test(a) ? prefix + a : a);
    for (const [i, [args, compare]] of STEPS.entries()) {
      const real = args.map(key);
      for (const a of real) if (a.startsWith(prefix)) keys.add(a);
      const [mine, theirs] = [await ours.call(...real), await redis.call(...real)];
      const norm = (d: Decoded): unknown => (compare === 'ttl' ? ttlKind(d) : text(d));
      assert.deepEqual(norm(mine), norm(theirs), `step ${i}: ${args.join(' ')}`);
    }
  });
});
