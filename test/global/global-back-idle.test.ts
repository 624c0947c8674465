/**
 * Back mode's timers on demand (kind: integration, the machine's PostgreSQL and Redis, own
 * schema and key prefix; docs/failover.md §Guarantees (`back` mode) 1 and 3): an idle server
 * arms no write-back tick, a change arms it and is written back with no call, a kept mark is
 * dropped once pendingKeepMs old with no further change; while the server's listener is live
 * its hand-over poll sends no statement, and once the listener is gone the poll reads the
 * marked rows again; a live poll that failed does not count, so the next one reads the
 * requests again (one whose notification was lost is found), and a live poll still on its way
 * is not sent again. No wall-clock bound is asserted: the tests wait for what must happen,
 * and count what must not across many poll periods.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { GlobalStore, HandoverEvents, HandoverListener, ServerLease } from '../../src/global/global-store.js';
import type { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import type { WriteBack } from '../../src/global/write-back.js';
import { EngineFleet, inTurn, type FleetGlobal } from './engine-fleet.js';
import { redisTestPrefix } from './redis-harness.js';
import { pgTestSchema } from './pg-harness.js';
import { sleep, until } from './until.js';

/** A store that counts the hand-over polls and keeps the listener it gave out. */
interface Counted {
  store: GlobalStore;
  polls: number;
  /** Polls sent while the listener was live (the first after it came up reads what was asked before). */
  livePolls: number;
  writes: number;
  listener?: HandoverListener;
  /** Subscribing fails (as while the backend refuses new connections). */
  refuseSubscribe: boolean;
  /** A poll sent while the listener is live fails (a backend hiccup); `failedPolls` counts them. */
  failLivePolls: boolean;
  failedPolls: number;
  /** Hand-over notifications to this server are lost; `dropped` counts them. */
  dropHandovers: boolean;
  dropped: number;
  /** Hand-over requests this server sent that were answered. */
  asks: number;
  /** A poll sent while the listener is live is answered this much later; `livePollsAnswered` counts the answers. */
  livePollDelayMs: number;
  livePollsAnswered: number;
}

function counted(real: GlobalStore): Counted {
  const c: Counted = { store: real, polls: 0, livePolls: 0, writes: 0, refuseSubscribe: false, failLivePolls: false, failedPolls: 0, dropHandovers: false, dropped: 0, asks: 0, livePollDelayMs: 0, livePollsAnswered: 0 };
  c.store = new Proxy(real, {
    get(target, key, receiver) {
      if (key === 'handoverRequests') {
        return (lease: ServerLease, limit: number) => {
          c.polls++;
          if (c.listener?.live !== true) return target.handoverRequests(lease, limit);
          c.livePolls++;
          return (async () => {
            if (c.failLivePolls) throw (c.failedPolls++, new Error('hiccup'));
            if (c.livePollDelayMs > 0) await sleep(c.livePollDelayMs);
            const ids = await target.handoverRequests(lease, limit);
            c.livePollsAnswered++;
            return ids;
          })();
        };
      }
      if (key === 'requestHandover') return async (...a: Parameters<GlobalStore['requestHandover']>) => (await target.requestHandover(...a), void c.asks++);
      if (key === 'writeBatch') return (...a: Parameters<GlobalStore['writeBatch']>) => (c.writes++, target.writeBatch(...a));
      if (key === 'subscribe') {
        return async (serverId: string, on: HandoverEvents) => {
          if (c.refuseSubscribe) throw new Error('refused');
          const handover = (id: string): void => (c.dropHandovers ? void c.dropped++ : on.handover(id));
          return (c.listener = await target.subscribe(serverId, { handover, released: on.released }));
        };
      }
      const v = Reflect.get(target, key, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return c;
}

/**
 * The hand-overs a server counts once its release is done: on Redis that is a second round trip
 * (the request's hint is removed after the release script), while the release message has
 * already woken the waiter, so a test waits for the count rather than reading it at once.
 */
const handoversGiven = async (e: GlobalSessionEngine): Promise<number> => (await e.stats()).global.handoversGiven;

/** The engine's write-back (its tick and pending journal), which the engine keeps private. */
const writeBackOf = (e: GlobalSessionEngine): WriteBack => (e as unknown as { wb: WriteBack }).wb;

const backends: Array<[string, Omit<FleetGlobal, 'app'>, () => Promise<{ store(): Promise<GlobalStore>; drop(): Promise<void> } | undefined>]> = [
  ['PostgreSQL', { postgres: { connectionString: 'unused' } }, async () => {
    const db = await pgTestSchema();
    return db === undefined ? undefined : { store: () => db.store({ app: 'idle', poolMax: 4 }), drop: () => db.drop() };
  }],
  ['Redis', { redis: { url: 'redis://unused' } }, async () => {
    const r = await redisTestPrefix();
    return r === undefined ? undefined : { store: () => r.store({ app: 'idle' }), drop: () => r.drop() };
  }],
];

for (const [name, conn, open] of backends) {
  describe(`back mode's timers on demand (${name})`, () => {
    let backend: Awaited<ReturnType<typeof open>>;
    const fleet = new EngineFleet();
    let n = 0;
    const fresh = (): string => `IdleSession${String(++n).padStart(4, '0')}xxxxxxxxxxxxxxx`;

    before(async () => void (backend = await open()));
    after(() => fleet.close(backend));

    /** A server over a counted store; `knobs` are set before it starts (its first polls). */
    async function server(over: Partial<FleetGlobal>, knobs: Partial<Counted> = {}): Promise<{ e: GlobalSessionEngine; c: Counted }> {
      const c = Object.assign(counted(await backend!.store()), knobs);
      const e = await fleet.compose(`idle-${++n}`, { ...conn, app: 'idle', mode: 'back', poolMax: 4, ...over }, c.store, { queueWaitMsMax: 5000 });
      return { e, c };
    }

    it('the write-back tick is armed only while something waits: a change, then its kept mark', async (t) => {
      if (backend === undefined) return t.skip(`${name} not reachable`);
      const { e, c } = await server({ writeBackMs: 20, pendingKeepMs: 1000, handoverPollMs: 600_000 });
      const wb = writeBackOf(e);
      assert.equal(wb.tick.armedInMs, undefined, 'a new server with nothing pending arms no tick');
      const id = fresh();
      await e.save(id, { attributes: { n: '1' } }); // created in the global store at once: nothing pending
      await inTurn(e, id, () => e.save(id, { attributes: { n: '2' } })); // pending: written back by the tick alone
      assert.notEqual(wb.tick.armedInMs, undefined, 'a change arms the tick');
      await until('the change is written back', async () => (await e.stats()).global.writeBackPending === 0);
      assert.equal(c.writes, 1);
      assert.equal(wb.pending.settledCount, 1, 'its mark is kept');
      await until('the kept mark is dropped with no further change', () => wb.pending.settledCount === 0);
      await until('then the tick is disarmed', () => wb.tick.armedInMs === undefined);
      await sleep(100); // five writeBackMs: nothing arms it again
      assert.equal(wb.tick.armedInMs, undefined);
      assert.equal(c.writes, 1);
    });

    it('while the listener is live the hand-over poll sends nothing; once it is gone (and not back) the poll reads the requests every period', async (t) => {
      if (backend === undefined) return t.skip(`${name} not reachable`);
      const { c } = await server({ writeBackMs: 600_000, handoverPollMs: 10 });
      await until('the poll after the listener went live', () => c.livePolls === 1);
      const polls = c.polls;
      await sleep(300); // thirty handoverPollMs
      assert.equal(c.polls, polls, `no poll statement while the listener is live (live: ${String(c.listener?.live)})`);
      c.refuseSubscribe = true;
      await c.listener!.close(); // as when its connection drops
      const before = c.polls;
      await until('the poll reads the marked requests again', () => c.polls >= before + 5);
      c.refuseSubscribe = false;
      await until('listening again', () => c.listener?.live === true);
    });

    it('a hand-over still completes by the notification alone, the holder polling nothing', async (t) => {
      if (backend === undefined) return t.skip(`${name} not reachable`);
      const a = await server({ writeBackMs: 600_000, handoverPollMs: 10 });
      const b = await server({ writeBackMs: 600_000, handoverPollMs: 10 });
      await until('the polls after their listeners went live', () => a.c.livePolls === 1 && b.c.livePolls === 1);
      const id = fresh();
      await a.e.save(id, { attributes: { n: '1' } });
      await inTurn(a.e, id, () => a.e.save(id, { attributes: { n: '2' } })); // pending on a
      const polls = a.c.polls;
      await inTurn(b.e, id, () => b.e.save(id, { attributes: { n: '3' } })); // a writes back and hands over
      assert.equal(a.c.polls, polls, `the holder found the request by its notification (listener live: ${String(a.c.listener?.live)})`);
      await until('the holder counts the hand-over', async () => (await handoversGiven(a.e)) === 1);
      assert.equal(a.c.polls, polls);
      assert.equal((await b.e.get(id))?.attrs.includes('3'), true);
    });

    it('a live poll that fails does not count: the next poll reads the requests again, finding one whose notification was lost', async (t) => {
      if (backend === undefined) return t.skip(`${name} not reachable`);
      const a = await server({ writeBackMs: 600_000, handoverPollMs: 10 }, { failLivePolls: true, dropHandovers: true });
      const b = await server({ writeBackMs: 600_000, handoverPollMs: 10 });
      const id = fresh();
      await a.e.save(id, { attributes: { n: '1' } });
      await inTurn(a.e, id, () => a.e.save(id, { attributes: { n: '2' } })); // pending on a
      await until('a poll sent while the listener was live failed', () => a.c.failedPolls >= 1);
      const taken = inTurn(b.e, id, () => b.e.save(id, { attributes: { n: '3' } }));
      await until('the request is marked (its notification lost)', () => b.c.asks >= 1);
      a.c.failLivePolls = false; // the backend is back; the listener stayed live all along
      await taken; // without a poll after the failed one, b times out (SESSIOND_QUEUE_TIMEOUT)
      assert.ok(a.c.dropped >= 1, 'the notification was lost: a poll found the request');
      assert.ok(a.c.livePollsAnswered >= 1, 'read by a poll sent while the listener was live');
      assert.equal(a.c.listener?.live, true);
      await until('the holder counts the hand-over', async () => (await handoversGiven(a.e)) === 1);
      assert.equal((await b.e.get(id))?.attrs.includes('3'), true);
    });

    it('a live poll still on its way is not sent again by the periods that pass meanwhile', async (t) => {
      if (backend === undefined) return t.skip(`${name} not reachable`);
      const { c } = await server({ writeBackMs: 600_000, handoverPollMs: 10 }, { livePollDelayMs: 200 });
      await until('a poll sent while the listener was live is answered', () => c.livePollsAnswered >= 1);
      await sleep(100); // ten handoverPollMs more
      assert.equal(c.livePolls, 1, 'one statement across the twenty periods it took and ten after');
    });
  });
}
