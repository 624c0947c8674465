import { SessiondError } from '../../errors.js';
import { evalScript, num, script, type RedisContext } from './redis-context.js';

/**
 * The app's registration (docs/format.md §8): Redis has no tables to create, only the
 * layout's version and the app's settings in `<prefix>{<app>}:meta`. One script, so
 * servers starting together agree; a layout newer than this code is refused.
 */

/**
 * 2: the principal index (principals.ts): fields `p` and `q`, the principal sets. A server of
 * layout 1 would write records without keeping the sets, so it refuses to start on layout 2;
 * records written under layout 1 gain `p` on their next write.
 */
export const REDIS_LAYOUT_VERSION = 2;

const MIGRATE = script(`
redis.call('HSETNX', KEYS[1], 'schemaVersion', ARGV[1])
local v = redis.call('HGET', KEYS[1], 'schemaVersion')
if tonumber(v) > tonumber(ARGV[1]) then return v end
redis.call('HSET', KEYS[1], 'schemaVersion', ARGV[1], 'sessionTtlMs', ARGV[2])
return v
`);

export async function migrate(ctx: RedisContext, sessionTtlMs: number): Promise<void> {
  const v = num(await evalScript(ctx, MIGRATE, [ctx.k.meta], [REDIS_LAYOUT_VERSION, sessionTtlMs]));
  if (v > REDIS_LAYOUT_VERSION) {
    throw new SessiondError('SESSIOND_FORMAT_UNSUPPORTED', `global store key layout version ${v} is newer than this sessiond (${REDIS_LAYOUT_VERSION})`, { schemaVersion: v });
  }
}
