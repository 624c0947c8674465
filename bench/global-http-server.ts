/**
 * One app server of bench/global-http.ts: express + express-session on a store of `kind`
 * (sessiond-global[-back] on PostgreSQL, sessiond-global-redis[-back] on Redis,
 * sessiond-local embedded, connect-pg-simple, connect-redis), counting the PostgreSQL
 * statements or Redis commands it sends (GET /stats).
 * argv: <kind> <dir> <serverId> <schema> (for the Redis kinds: the key prefix).
 * Prints `ready <port>`.
 */
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session as InspectorSession } from 'node:inspector/promises';
import express from 'express';
import session from 'express-session';
import pg from 'pg';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { SessiondStore, sessiondSerialize } from '../src/adapters/express.js';
import { GlobalSessionEngine, type GlobalEngineOptionsInput } from '../src/global/global-session-engine.js';

declare module 'express-session' {
  interface SessionData {
    counter?: number;
  }
}

const require = createRequire(import.meta.url);
const [kind, dir, serverId, schema] = process.argv.slice(2) as [string, string, string, string];
const SECRET = 'bench secret';
let statements = 0;
/** Redis commands by name (scripts by SHA1 prefix), for the sessiond Redis kind. */
const byCommand: Record<string, number> = {};
// application_name lets bench/global-http.ts find this pool's backends and read their CPU time.
const pool = new pg.Pool({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test', max: 10, application_name: `ghttp-${schema}` });
pool.on('error', () => undefined);
const query = pool.query.bind(pool) as (...a: unknown[]) => unknown;
(pool as unknown as { query: (...a: unknown[]) => unknown }).query = (...a: unknown[]) => {
  statements++;
  return query(...a);
};

const REDIS_URL = process.env.SESSIOND_BENCH_REDIS ?? 'redis://127.0.0.1:6379';
/** Extra global options for the sessiond kinds (JSON), e.g. `{"pendingKeepMs":0}` to run a build with a change off. */
const EXTRA = JSON.parse(process.env.SESSIOND_BENCH_GLOBAL ?? '{}') as object;
/**
 * Counts every command an ioredis client of this process sends (scripts by SHA1 prefix):
 * sessiond opens its own client from `{ url }`, as an application would configure it.
 */
function countIoredisCommands(): void {
  const proto = Redis.prototype as unknown as { sendCommand(c: { name: string; args: unknown[] }, ...rest: unknown[]): unknown };
  const send = proto.sendCommand;
  proto.sendCommand = function (this: unknown, c, ...rest) {
    statements++;
    const name = c.name.toUpperCase() === 'EVALSHA' ? `EVALSHA ${String(c.args[0]).slice(0, 8)}` : c.name.toUpperCase();
    byCommand[name] = (byCommand[name] ?? 0) + 1;
    return send.call(this, c, ...rest);
  };
}

const app = express();
let store: session.Store;
/** Back mode's hand-over waits by what ended them (GET /stats), of the sessiond global kinds. */
let wakes: (() => Promise<{ released: number; timer: number }>) | undefined;
let wakesFrom = { released: 0, timer: 0 };
const readWakes = async (e: GlobalSessionEngine): Promise<{ released: number; timer: number }> => {
  const g = (await e.stats()).global;
  return { released: g.handoverWokenByRelease, timer: g.handoverWokenByTimer };
};
/** A framework store on a global engine opened here, so its stats (`global`) can be read. */
async function globalStore(options: GlobalEngineOptionsInput): Promise<SessiondStore> {
  const e = await GlobalSessionEngine.open(options);
  wakes = () => readWakes(e);
  return new SessiondStore(e);
}
if (kind === 'connect-redis') {
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  // Every method connect-redis calls on the client is one command (get, set, expire, del, mGet).
  const counted = new Proxy(client, {
    get(t, k, r) {
      const v = Reflect.get(t, k, r) as unknown;
      if (typeof v !== 'function') return v;
      return (...a: unknown[]) => {
        if (['get', 'set', 'expire', 'del', 'mGet'].includes(String(k))) statements++;
        return (v as (...x: unknown[]) => unknown).apply(t, a);
      };
    },
  });
  const { RedisStore } = (await import('connect-redis')) as unknown as { RedisStore: new (o: object) => session.Store };
  store = new RedisStore({ client: counted, prefix: schema });
} else if (kind === 'sessiond-global-redis' || kind === 'sessiond-global-redis-back') {
  countIoredisCommands();
  const mode = kind === 'sessiond-global-redis-back' ? 'back' : 'through';
  const s = await globalStore({ dir, global: { redis: { url: REDIS_URL }, keyPrefix: schema, app: 'bench', serverId, mode, ...EXTRA } });
  app.use(sessiondSerialize(s, { secret: SECRET }));
  store = s;
} else if (kind === 'connect-pg-simple') {
  const PgStore = (require('connect-pg-simple') as (s: typeof session) => new (o: object) => session.Store)(session);
  store = new PgStore({ pool, tableName: schema, createTableIfMissing: true, pruneSessionInterval: false });
} else {
  const mode = kind === 'sessiond-global-back' ? 'back' : 'through';
  const s = kind.startsWith('sessiond-global') ? await globalStore({ dir, global: { postgres: pool as never, app: 'bench', serverId, schema, mode, ...EXTRA } }) : new SessiondStore({ dir });
  await s.engine();
  app.use(sessiondSerialize(s, { secret: SECRET }));
  store = s;
}
app.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false }));
app.post('/login', (req, res, next) => {
  req.session.counter = 0;
  req.session.save((err) => (err ? next(err) : res.json({ ok: true })));
});
app.get('/counter', (req, res) => res.json({ counter: req.session.counter ?? null }));
app.post('/increment', (req, res) => {
  req.session.counter = (req.session.counter ?? 0) + 1;
  res.json({ counter: req.session.counter });
});
let cpuFrom = process.cpuUsage();
app.get('/stats', async (_req, res) => {
  const cpu = process.cpuUsage(cpuFrom);
  const w = (await wakes?.()) ?? wakesFrom;
  res.json({ statements, byCommand, cpuMs: (cpu.user + cpu.system) / 1000, userMs: cpu.user / 1000, wokenByRelease: w.released - wakesFrom.released, wokenByTimer: w.timer - wakesFrom.timer });
});
/**
 * SESSIOND_BENCH_CPU_PROF=<dir>: a V8 CPU profile of the measured run only (started at the
 * /stats/reset that ends the warm-up, written at SIGTERM as <dir>/<kind>-<serverId>.cpuprofile),
 * so the JIT's warm-up is not in it.
 */
const PROF_DIR = process.env.SESSIOND_BENCH_CPU_PROF;
let profiler: InspectorSession | undefined;
async function startProfile(): Promise<void> {
  if (PROF_DIR === undefined || profiler !== undefined) return;
  profiler = new InspectorSession();
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
}
async function writeProfile(): Promise<void> {
  if (PROF_DIR === undefined || profiler === undefined) return;
  const { profile } = await profiler.post('Profiler.stop');
  writeFileSync(join(PROF_DIR, `${kind}-${serverId}.cpuprofile`), JSON.stringify(profile));
}
app.post('/stats/reset', async (_req, res) => {
  await startProfile();
  wakesFrom = (await wakes?.()) ?? wakesFrom;
  cpuFrom = process.cpuUsage();
  statements = 0;
  for (const k of Object.keys(byCommand)) delete byCommand[k];
  res.json({ ok: true });
});
// SIGTERM ends the process normally, after writing the profile (SESSIOND_BENCH_CPU_PROF).
process.on('SIGTERM', () => void writeProfile().finally(() => process.exit(0)));
const server = app.listen(0, '127.0.0.1', () => {
  const a = server.address();
  console.log(`ready ${typeof a === 'object' && a !== null ? a.port : 0}`);
});
