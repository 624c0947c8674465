import type { RedisArg, RedisClientLike } from './redis-types.js';

/**
 * One socket write per event-loop iteration for the standalone client sessiond opens
 * (docs/benchmarks.md §Through mode on Redis: the client's CPU, and §one write per loop
 * iteration). ioredis without auto-pipelining writes each command at once (one syscall
 * each); with it, every command also goes through a Pipeline, two more promises and a
 * setImmediate, about twice the CPU per command. Instead the socket is corked at the first
 * command and uncorked by a setImmediate, as node-redis writes: the commands of every
 * callback of the iteration (each HTTP request that arrived, each answer that came back)
 * leave in one writev, each still sent and answered as itself, in order, with the client's
 * own command queue, timeouts and offline handling. Uncorking on the next tick instead
 * wrote each callback's commands alone: 1.1-1.3 writes an HTTP request against 0.3 (each a
 * syscall, and a read for redis-server).
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
 * `client` with its commands (call, pipeline) written together per loop iteration; the rest as it is.
 * `conn` is the ioredis connection under it (the client may be the offline gate's wrapper).
 * Before the first connection there is no socket yet: ioredis queues the command itself.
 */
export function writePerLoop(client: RedisClientLike, conn: unknown): RedisClientLike {
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
    // The check phase of this iteration (a command sent from a check callback: of the next one).
    setImmediate(uncork);
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
