import type { CommandCall, CommandKind, CommandSpec } from './command-context.js';
import { CONNECTION_COMMANDS } from './connection-commands.js';
import { KEY_COMMANDS } from './key-commands.js';
import { scan } from './scan-command.js';
import { SERVER_COMMANDS } from './server-commands.js';
import { error, type Reply } from './resp-serializer.js';
import { idOfKey } from './key-value.js';

/**
 * Every command sessiond answers, by lower-case name. Anything else gets redis-server's
 * own errors: `unknown command`, or WRONGTYPE for a hash, list, set or sorted-set
 * command on a key that exists (every value here is a string, as redis-server would say).
 */
export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map([...CONNECTION_COMMANDS, ...SERVER_COMMANDS, ...KEY_COMMANDS, scan].map((c) => [c.name, c]));

const OTHER_TYPE_COMMANDS = new Set(
  'hget hset hgetall hdel hexists hincrby hkeys hlen hmget hmset hvals hsetnx lpush rpush lpop rpop lrange llen lindex lset lrem sadd srem smembers sismember scard spop zadd zrem zrange zscore zcard zincrby zrank'.split(' '),
);

/** redis-server's text: the name and the first arguments, each cut, 128 characters in all. */
export function unknownCommand(args: readonly Buffer[]): string {
  let rest = '';
  for (let i = 1; i < args.length && rest.length < 128; i++) rest += `'${args[i]!.toString('latin1').slice(0, 128 - rest.length)}' `;
  return `ERR unknown command '${args[0]!.toString('latin1').slice(0, 128)}', with args beginning with: ${rest}`;
}

export interface Dispatch {
  readonly kind: CommandKind;
  readonly run: () => Reply | Promise<Reply>;
}

/** Looks a command up and checks its arity and the connection's authentication. */
export function dispatch(call: CommandCall): Dispatch {
  const name = call.args[0]!.toString('latin1').toLowerCase();
  const spec = COMMANDS.get(name);
  if (spec === undefined) {
    if (OTHER_TYPE_COMMANDS.has(name) && call.args.length > 1) {
      if (!call.client.authenticated) return fixed(error('NOAUTH Authentication required.'));
      if (call.server.loading()) return fixed(error(LOADING));
      return { kind: 'read', run: () => (call.server.engine.get(idOfKey(call.args[1]!)) === undefined ? error(unknownCommand(call.args)) : error(WRONGTYPE)) };
    }
    return fixed(error(unknownCommand(call.args)));
  }
  if (!call.client.authenticated && spec.noAuth !== true) return fixed(error('NOAUTH Authentication required.'));
  const n = call.args.length;
  if (spec.arity > 0 ? n !== spec.arity : n < -spec.arity) return fixed(error(`ERR wrong number of arguments for '${name}' command`));
  // redis-server's order: unknown command, arity, NOAUTH, then LOADING.
  if (spec.loading !== true && call.server.loading()) return fixed(error(LOADING));
  const kind = typeof spec.kind === 'function' ? spec.kind(call.args) : spec.kind;
  return { kind, run: () => spec.run(call) };
}

/** redis-server 7's exact text (shared.loadingerr): clients such as ioredis retry on it. */
export const LOADING = 'LOADING Redis is loading the dataset in memory';

const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';

function fixed(reply: Reply): Dispatch {
  return { kind: 'meta', run: () => reply };
}
