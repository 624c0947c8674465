/**
 * What a request costs in through mode on Redis (kind: integration, real Redis): a read of
 * an unchanged session, alternating between two servers, is two commands (the turn, which
 * also reads the record, and the touch that gives the turn back); a read writes nothing to
 * the local log, neither when it copies another server's version (kept in memory,
 * copy-overlay.ts) nor when it touches the copy (past touchAfterMs, or with an expiry that
 * moves, the copy served moves as the record does, in memory). Only this server's own
 * changes are logged locally. A regression in any shows here.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { ManualClock } from '../../src/clock.js';
import { isSessiondError } from '../../src/errors.js';
import { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import { resolveGlobalOptions } from '../../src/global/global-options.js';
import type { RedisArg, RedisClientLike } from '../../src/global/redis/redis-types.js';
import { REDIS_URL, redisMissing, RedisTestPrefix } from './redis-harness.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import type { SessionState } from '../../src/session/session-state.js';
import type { CopyOverlay } from '../../src/global/copy-overlay.js';

const HOUR = 3_600_000;
let n = 0;
const fresh = (): string => `ThroughCost${String(++n).padStart(4, '0')}xxxxxxxxxx`;

/** Arguments of every command the counting clients sent, by command list. */
const argsOf = new WeakMap<string[], RedisArg[][]>();
/** Their answers, in the same order. */
const repliesOf = new WeakMap<string[], Array<Promise<unknown>>>();

/** An ioredis client that records the name of every command sent through `call` (scripts as EVALSHA), and its arguments (argsOf). */
function countingClient(sent: string[], clients: Redis[]): RedisClientLike {
  const args: RedisArg[][] = [];
  const replies: Array<Promise<unknown>> = [];
  argsOf.set(sent, args);
  repliesOf.set(sent, replies);
  const r = new Redis(REDIS_URL, { enableAutoPipelining: true });
  clients.push(r);
  r.on('error', () => undefined);
  return {
    call: (command: string, ...a: RedisArg[]) => {
      if (sent.length === 0) {
        args.length = 0;
        replies.length = 0;
      }
      sent.push(command);
      args.push(a);
      const reply = r.call(command, ...a);
      replies.push(reply.catch((e: unknown) => e));
      return reply;
    },
    quit: () => r.quit(),
  };
}

describe('through mode on Redis: commands and local writes per request', () => {
  let redis: RedisTestPrefix | undefined;
  const engines: GlobalSessionEngine[] = [];
  const clients: Redis[] = []; // the stores do not close a client they were given

  before(async () => {
    if ((await redisMissing()) === undefined) redis = RedisTestPrefix.standalone();
  });
  after(async () => {
    for (const e of engines) await e.close().catch(() => undefined);
    for (const c of clients) c.disconnect();
    await redis?.drop();
  });

  /** Local log records appended, by server: the engine's observer sees every one. */
  const logged = new Map<GlobalSessionEngine, string[]>();

  async function server(name: string, clock: ManualClock, sent: string[], over: Record<string, unknown> = {}, engine: { expiryIntervalMs?: number } = {}): Promise<GlobalSessionEngine> {
    const g = resolveGlobalOptions({ redis: { url: REDIS_URL }, app: 'app', serverId: name, keyPrefix: redis!.prefix, leaseMs: 60_000, heartbeatMs: 30_000, inheritIntervalMs: HOUR, cleanupIntervalMs: HOUR, ...over }, '/s');
    const store = await redis!.store({ redis: countingClient(sent, clients) });
    const appended: string[] = [];
    const observer = { appended: (_lsn: number, id: string) => void appended.push(id) };
    const e = await GlobalSessionEngine.compose({ dir: '/s', fs: new SimFileSystem(), flushIntervalMs: HOUR, expiryIntervalMs: HOUR, clock, observer, ...engine }, g, store);
    logged.set(e, appended);
    engines.push(e);
    return e;
  }

  /** One request that reads the session and touches it (express-session's path for a read); the state the touch answers. */
  async function read(e: GlobalSessionEngine, id: string, expiresAtMs?: number): Promise<SessionState> {
    const release = await e.lock(id);
    let s: SessionState | undefined;
    try {
      assert.ok((await e.get(id)) !== undefined);
      s = await e.touch(id, expiresAtMs === undefined ? {} : { expiresAtMs });
    } finally {
      release();
    }
    await new Promise((r) => setImmediate(r)); // the release's chain has run
    assert.ok(s !== undefined);
    return s;
  }

  /** The state a request reads (lock, get, release). */
  async function served(e: GlobalSessionEngine, id: string): Promise<SessionState | undefined> {
    const release = await e.lock(id);
    try {
      return await e.get(id);
    } finally {
      release();
    }
  }

  it('a read of an unchanged session on the other server is 2 commands and no local record', async (t) => {
    if (redis === undefined) return t.skip('Redis not reachable');
    const clock = new ManualClock(Date.now());
    const sa: string[] = [];
    const sb: string[] = [];
    const [a, b] = [await server('cost-a', clock, sa), await server('cost-b', clock, sb)];
    const id = fresh();
    await a.save(id, { attributes: { n: '1' } });
    await read(b, id); // b copies the session once
    await read(a, id);
    for (let i = 0; i < 6; i++) {
      const [e, sent] = i % 2 === 0 ? ([b, sb] as const) : ([a, sa] as const);
      clock.advance(10);
      sent.length = 0;
      await read(e, id);
      assert.deepEqual(sent, ['EVALSHA', 'EVALSHA'], `request ${i}: the turn (with the record) and the touch that gives it back`);
      // EVALSHA sha 1 key deadline serverId epoch turnMs knownVersion: the copy is current, so the record's attributes are not sent back.
      assert.equal(String(argsOf.get(sent)![0]![7]), '1', `request ${i}: the turn names the version the copy has`);
      assert.equal(argsOf.get(sent)![0]!.length, 8, `request ${i}: a first try of a turn for one request sends 5 arguments (no hold flag, no holder passed as dead)`);
    }
    assert.deepEqual(logged.get(a), [id], 'a logged its own save only');
    assert.deepEqual(logged.get(b), [], 'b logged nothing: its copy of the session is in memory, and so are its touches');
  });

  it("a read's two scripts stay light on redis-server: the current turn reads 9 fields and answers one string, the touch that moves nothing reads 3", async (t) => {
    if (redis === undefined) return t.skip('Redis not reachable');
    const clock = new ManualClock(Date.now());
    const sa: string[] = [];
    const sb: string[] = [];
    const [a, b] = [await server('light-a', clock, sa), await server('light-b', clock, sb)];
    const id = fresh();
    await a.save(id, { attributes: { n: '1' } });
    await read(b, id); // b copies the session once
    await read(a, id);
    // What the scripts run inside Redis, on this session's key only (the machine's Redis is shared).
    const admin = new Redis(REDIS_URL);
    const mon = await admin.monitor();
    const inner: string[][] = [];
    const key = `${redis.prefix}{app:${id}}`;
    mon.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === 'lua' && args[1] === key) inner.push(args);
    });
    try {
      sb.length = 0;
      clock.advance(10);
      await read(b, id);
      const replies = await Promise.all(repliesOf.get(sb)!);
      assert.equal(typeof replies[0], 'string', 'the turn of a current copy answers one string (no reply array for the client to parse)');
      assert.equal(replies[1], 'ok');
      // MONITOR shows a command once it ran: wait for this read's to arrive.
      for (let i = 0; i < 100 && inner.length < 5; i++) await new Promise((r) => setTimeout(r, 10));
    } finally {
      mon.disconnect();
      admin.disconnect();
    }
    const shape = inner.map((x) => `${x[0]!.toUpperCase()} ${x.slice(2).join(' ')}`);
    assert.deepEqual(
      shape.map((x) => x.replace(/^HSET t \d{10,}$/, 'HSET t <turn end>').replace(/^HSET o light-b e \d+ t \d{10,}$/, 'HSET o light-b e <epoch> t <turn end>')),
      ['HMGET o e t u v l x i h', 'HSET o light-b e <epoch> t <turn end>', 'HMGET o e u', 'HSET t 0'],
      'the turn taken from the other server (9 fields read, the owner moved, no hand-over mark to delete) and the touch that moved nothing (the fences\' 3 fields read: the turn read the times; the turn given back)',
    );
  });

  it("a save back to this server's own older copy, over another server's version in memory, is a new version of the record", async (t) => {
    if (redis === undefined) return t.skip('Redis not reachable');
    const clock = new ManualClock(Date.now());
    const [a, b] = [await server('revert-a', clock, []), await server('revert-b', clock, [])];
    const id = fresh();
    const x = clock.now() + HOUR;
    await a.save(id, { attributes: { n: '1' }, expiresAtMs: x });
    await b.save(id, { attributes: { n: '2' }, expiresAtMs: x });
    // a's local engine holds exactly this (its own older copy): the local save changes nothing,
    // yet against the record (b's version, a's copy in memory) it is a change.
    const back = await a.save(id, { attributes: { n: '1' }, expiresAtMs: x });
    assert.equal(back.version, 3);
    const seen = await served(b, id);
    assert.equal(seen?.version, 3);
    assert.equal(attributesFromBlob(seen!.attrs).get('n'), '1', 'the acknowledged save is the record');
  });

  it("another server's version is copied in memory: served, saved over, and logged locally only by a change of this server", async (t) => {
    if (redis === undefined) return t.skip('Redis not reachable');
    const clock = new ManualClock(Date.now());
    const [a, b] = [await server('copy-a', clock, []), await server('copy-b', clock, [])];
    const id = fresh();
    await a.save(id, { attributes: { n: '1' } });
    await b.save(id, { attributes: { n: '2' } }); // b's own change: logged at b
    const la = logged.get(a)!;
    const lb = logged.get(b)!;
    assert.deepEqual([la.length, lb.length], [1, 1]);
    const x = clock.now() + 2 * HOUR; // a's version expires later than b's local copy
    await a.save(id, { attributes: { n: '3' }, expiresAtMs: x }); // a takes b's version (in memory), then saves over it
    assert.equal(la.length, 2, 'a logged its own change, not the copy of b\'s');
    const seen = await served(b, id);
    assert.equal(seen?.version, 3);
    assert.equal(attributesFromBlob(seen!.attrs).get('n'), '3', "b serves a's version");
    assert.equal(attributesFromBlob(b.local.get(id)!.attrs).get('n'), '2', "b's local engine keeps b's own change: a's is in memory");
    assert.equal(lb.length, 1, 'b logged nothing for the copy');
    // A save over the copy in memory that changes nothing in it makes no new version and writes nothing.
    const release = await b.lock(id);
    try {
      const same = await b.save(id, { attributes: { n: '3' } });
      assert.equal(same.version, 3);
    } finally {
      release();
    }
    assert.equal(lb.length, 1, 'a save that changes nothing: no local record');
    // A change of it is logged at b, over its older local copy, with the copy's expiry.
    assert.equal(seen!.expiresAtMs, x);
    const after = await b.save(id, { attributes: { n: '4' } });
    assert.equal(after.version, 4);
    assert.equal(lb.length, 2, "b's own change is logged");
    assert.equal(attributesFromBlob(b.local.get(id)!.attrs).get('n'), '4');
    assert.equal(b.local.get(id)!.expiresAtMs, x, "the record's expiry, not the older local copy's default");
    assert.equal(attributesFromBlob((await served(a, id))!.attrs).get('n'), '4');
    // A logout of the copy in memory: gone from it too, within the request and after.
    await a.save(id, { attributes: { n: '5' } });
    const out = await b.lock(id);
    try {
      assert.equal(attributesFromBlob((await b.get(id))!.attrs).get('n'), '5');
      assert.equal(await b.destroy(id), true);
      assert.equal(await b.get(id), undefined, 'destroyed: not served from memory');
    } finally {
      out();
    }
    assert.equal(await served(b, id), undefined);
    assert.equal(await served(a, id), undefined);
  });

  it('a write, and a logout, give the turn back in their own script: 2 commands each, none after', async (t) => {
    if (redis === undefined) return t.skip('Redis not reachable');
    const clock = new ManualClock(Date.now());
    const sent: string[] = [];
    const a = await server('logout-a', clock, sent);
    const changes = (id: string) =>
      [
        ['write', () => a.save(id, { attributes: { n: '2' } })],
        ['logout', () => a.destroy(id)],
      ] as const;
    const request = async (id: string, change: () => Promise<unknown>): Promise<void> => {
      const release = await a.lock(id);
      try {
        await change();
      } finally {
        release();
      }
      await new Promise((r) => setImmediate(r)); // the release's chain has run
    };
    // The scripts are cached after one of each (a fresh Redis answers a first EVALSHA with NOSCRIPT, then gets the EVAL).
    const warm = fresh();
    await a.save(warm, { attributes: { n: '1' } });
    for (const [, change] of changes(warm)) await request(warm, change);
    const id = fresh();
    await a.save(id, { attributes: { n: '1' } });
    for (const [what, change] of changes(id)) {
      sent.length = 0;
      await request(id, change);
      assert.deepEqual(sent, ['EVALSHA', 'EVALSHA'], `${what}: the turn, then the change that ends it (no release after)`);
    }
  });

  it('past touchAfterMs, or with an expiry that moves, the copy served is touched, in memory', async (t) => {
    if (redis === undefined) return t.skip('Redis not reachable');
    const clock = new ManualClock(Date.now());
    const a = await server('moved-a', clock, []);
    const id = fresh();
    await a.save(id, { attributes: { n: '1' } });
    const s0 = a.local.get(id)!;
    clock.advance(a.global.touchAfterMs - 1);
    assert.equal((await read(a, id)).lastAccessAtMs, s0.lastAccessAtMs, 'not touched before touchAfterMs');
    clock.advance(1);
    const s1 = await read(a, id);
    assert.equal(s1.lastAccessAtMs, clock.now(), 'touched once touchAfterMs passed');
    assert.equal((await served(a, id))!.lastAccessAtMs, clock.now(), 'and served so');
    clock.advance(1);
    assert.equal((await read(a, id, s1.expiresAtMs - 1)).expiresAtMs, s1.expiresAtMs - 1, 'an earlier expiry is always applied');
    const moved = s1.expiresAtMs - 1 + a.global.touchAfterMs;
    assert.equal((await read(a, id, moved)).expiresAtMs, moved, 'an expiry moved by touchAfterMs is applied');
    assert.equal((await read(a, id, moved + 1)).expiresAtMs, moved, 'an expiry moved by less is not');
    assert.equal((await served(a, id))!.expiresAtMs, moved);
    assert.deepEqual(logged.get(a), [id], 'none of it logged locally: only the save');
  });

  it('touchAfterMs 0 touches the copy served on every request, never the local log', async (t) => {
    if (redis === undefined) return t.skip('Redis not reachable');
    const clock = new ManualClock(Date.now());
    const a = await server('zero-a', clock, [], { touchAfterMs: 0 });
    const id = fresh();
    await a.save(id, { attributes: { n: '1' } });
    for (let i = 0; i < 3; i++) {
      clock.advance(1);
      assert.equal((await read(a, id)).lastAccessAtMs, clock.now(), `request ${i}`);
    }
    assert.deepEqual(logged.get(a), [id]);
  });

  it("the copy follows the record's last access and expiry that another server's touch moved", async (t) => {
    if (redis === undefined) return t.skip('Redis not reachable');
    const clock = new ManualClock(Date.now());
    const [a, b] = [await server('follow-a', clock, []), await server('follow-b', clock, [])];
    const id = fresh();
    const s0 = await a.save(id, { attributes: { n: '1' } });
    await read(b, id);
    clock.advance(a.global.touchAfterMs);
    const moved = await read(b, id, s0.expiresAtMs + a.global.touchAfterMs);
    const seen = await served(a, id);
    assert.equal(seen?.lastAccessAtMs, moved.lastAccessAtMs, "b's touch, read with a's turn");
    assert.equal(seen?.expiresAtMs, s0.expiresAtMs + a.global.touchAfterMs);
    assert.equal(logged.get(a)!.length, 1);
  });

  it('a copy in memory that expired here is forgotten with its version: the older local copy never passes for it', async (t) => {
    if (redis === undefined) return t.skip('Redis not reachable');
    const ca = new ManualClock(Date.now());
    const cb = new ManualClock(ca.now());
    const a = await server('prune-a', ca, []);
    const b = await server('prune-b', cb, [], {}, { expiryIntervalMs: 10 });
    const id = fresh();
    await b.save(id, { attributes: { n: '1' } }); // b's local copy: no end soon
    await a.save(id, { attributes: { n: '2' }, expiresAtMs: ca.now() + 60_000 });
    assert.equal(attributesFromBlob((await served(b, id))!.attrs).get('n'), '2'); // in memory at b
    cb.advance(61_000); // by b's clock the copy in memory has ended; the record lives (Redis's clock)
    await new Promise((r) => setTimeout(r, 100)); // the pruner's ticks
    const overlay = (b as unknown as { overlay: CopyOverlay }).overlay;
    assert.equal(overlay.has(id), false, 'the expired copy left memory');
    const seen = await b.get(id); // without the turn: the record's, or the copy at its version
    assert.equal(attributesFromBlob(seen!.attrs).get('n'), '2', "never b's older local copy at the record's version");
  });

  it('a copy taken from a record whose last access a lagging clock wrote stays live here, turn after turn', async (t) => {
    if (redis === undefined) return t.skip('Redis not reachable');
    const slow = new ManualClock(Date.now());
    const fast = new ManualClock(slow.now() + 50_000); // a's clock 50 s ahead of b's
    const [a, b] = [await server('skew-a', fast, []), await server('skew-b', slow, [])];
    const id = fresh();
    await b.save(id, { attributes: { n: '1' }, maxInactiveMs: 60_000 });
    assert.ok((await served(a, id)) !== undefined, 'copied, accessed now by its own clock');
    fast.advance(20_000); // by a's clock the record was last accessed 70 s ago, its copy 20 s ago
    const again = await served(a, id);
    assert.ok(again !== undefined, "the next turn keeps the copy's last access: it never goes back to the record's");
    assert.equal(attributesFromBlob(again.attrs).get('n'), '1');
  });

  it('a touch refuses bad input with SESSIOND_INVALID_ARGUMENT before anything is written, skipped here or not', async (t) => {
    if (redis === undefined) return t.skip('Redis not reachable');
    const a = await server('input-a', new ManualClock(Date.now()), []);
    const id = fresh();
    await a.save(id, { attributes: { n: '1' } });
    const { expiresAtMs: x } = a.local.get(id)!;
    for (const input of [{ expiresAtMs: Number.NaN }, { expiresAtMs: x + 0.5 }, { expiresAtMs: -1 }, { bogus: 1 }]) {
      const release = await a.lock(id);
      try {
        await assert.rejects(a.touch(id, input as never), (e) => isSessiondError(e, 'SESSIOND_INVALID_ARGUMENT'), JSON.stringify(input));
      } finally {
        release();
      }
    }
    assert.deepEqual(logged.get(a), [id], 'nothing written locally');
  });
});
