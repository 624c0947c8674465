/**
 * The little of a Redis client we use, as structural types of our own (as with `pg`, see
 * src/global/postgres/pg-types.ts), so the contract and the protocol do not depend on the
 * client library. sessiond opens ioredis clients itself for `{ url }` and `{ rootNodes }`;
 * an application may pass its own ioredis `Redis` or `Cluster` (anything with these
 * methods), and tests may pass a wrapper that counts or cuts commands.
 */

export type RedisArg = string | number | Buffer;

export interface RedisCommander {
  /** Sends one command; a cluster client routes it by its first key. */
  call(command: string, ...args: RedisArg[]): Promise<unknown>;
  /**
   * Sends commands together on one connection (ioredis `pipeline`); on a cluster they go to
   * the node of their keys, so a keyless `WAIT` lands on the master the script wrote to.
   */
  pipeline?(commands: RedisArg[][]): { exec(): Promise<Array<[Error | null, unknown]> | null> };
}

export interface RedisClientLike extends RedisCommander {
  quit(): Promise<unknown>;
  /**
   * A new connection with the same options (ioredis `duplicate`), for SUBSCRIBE; without it
   * back mode's hand-over runs on polling alone.
   */
  duplicate?(): RedisSubscriber;
}

/** A connection in subscriber mode (ioredis `Redis` or `Cluster`). */
export interface RedisSubscriber {
  subscribe(channel: string): Promise<unknown>;
  on(event: 'message', cb: (channel: string, message: string) => void): unknown;
  on(event: 'error' | 'end' | 'close', cb: (e?: unknown) => void): unknown;
  disconnect(): void;
}

export interface RedisClusterLike extends RedisClientLike {
  /** The master nodes' own clients (SCAN runs on every master). */
  nodes(role: 'master'): RedisCommander[];
}

export function isRedisClient(x: unknown): x is RedisClientLike {
  const c = x as Partial<RedisClientLike> | null;
  return typeof c === 'object' && c !== null && typeof c.call === 'function' && typeof c.quit === 'function';
}

export function isRedisCluster(x: unknown): x is RedisClusterLike {
  return isRedisClient(x) && typeof (x as Partial<RedisClusterLike>).nodes === 'function';
}
