import type { RedisArg, RedisClientLike } from './redis-types.js';

/**
 * One socket write per tick for the standalone client sessiond opens (docs/benchmarks.md
 * §Through mode on Redis: the client's CPU). ioredis without auto-pipelining writes each
 * command at once (one syscall each); with it, every command also goes through a Pipeline,
 * two more promises and a setImmediate, about twice the CPU per command. Instead the socket
 * is corked at the first command of a tick and uncorked on the next tick, as node-redis
 * does: the commands of the tick leave in one writev, each still sent and answered as
 * itself, in order, with the client's own command queue, timeouts and offline handling.
 */

/** What of an ioredis `Redis` this needs: its socket (and `status`, which tells it is one). */
interface Corkable {
  readonly status: string;
  readonly stream?: { cork(): void; uncork(): void } | null;
}

function isCorkable(x: unknown): x is Corkable {
  const c = x as Partial<Corkable>;
  return typeof c.status === 'string';
}

/**
 * `client` with its commands (call, pipeline) written together per tick; the rest as it is.
 * `conn` is the ioredis connection under it (the client may be the offline gate's wrapper).
 * Before the first connection there is no socket yet: ioredis queues the command itself.
 */
export function writePerTick(client: RedisClientLike, conn: unknown): RedisClientLike {
  if (!isCorkable(conn)) return client;
  let corked: Corkable['stream'] = null;
  const uncork = (): void => {
    const s = corked;
    corked = null;
    s?.uncork();
  };
  const cork = (): void => {
    if (corked !== null) return;
    const s = conn.stream;
    if (s === undefined || s === null) return;
    s.cork();
    corked = s;
    process.nextTick(uncork);
  };
  const pipeline = client.pipeline?.bind(client);
  return {
    ...client,
    call(command: string, ...args: RedisArg[]) {
      cork();
      return client.call(command, ...args);
    },
    pipeline:
      pipeline === undefined
        ? undefined
        : (commands: RedisArg[][]) => {
            const p = pipeline(commands);
            return {
              exec: () => {
                cork();
                return p.exec();
              },
            };
          },
  };
}
