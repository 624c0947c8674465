/**
 * Back mode's hand-over wake-up (kind: integration, the machine's Redis and PostgreSQL, own
 * key prefix and schema): the waiter is woken by the holder's release message, not by its
 * polling timer (docs/failover.md §Back mode, hand-over). Each server's store is wrapped so
 * the test orders the steps: no wall-clock bound is asserted, only what ended each wait.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { GlobalStore, HandoverEvents, HandoverListener, ServerLease, TurnResult } from '../../src/global/global-store.js';
import type { GlobalSessionEngine } from '../../src/global/global-session-engine.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import { EngineFleet, type FleetGlobal } from './engine-fleet.js';
import { redisTestPrefix, type RedisTestPrefix } from './redis-harness.js';
import { pgTestSchema, type PgTestSchema } from './pg-harness.js';
import { sleep, until } from './until.js';

/** What a wrapped store saw, and the hooks the test sets on it. */
interface Spy {
  store: GlobalStore;
  takes: number;
  released: number;
  listening: boolean;
  /** Runs after a takeTurn answered, before its answer is returned. */
  afterTake?: (n: number) => Promise<void>;
  /** Runs before a releaseTurn is sent. */
  beforeRelease?: () => Promise<void>;
  /** Runs after a requestHandover answered. */
  afterAsk?: () => void;
}

function spy(real: GlobalStore): Spy {
  const s: Spy = { store: real, takes: 0, released: 0, listening: false };
  s.store = new Proxy(real, {
    get(target, key, receiver) {
      if (key === 'takeTurn') {
        return async (lease: ServerLease, id: string, turnMs: number, knownVersion: number, hold?: boolean): Promise<TurnResult | undefined> => {
          const n = ++s.takes;
          const r = await target.takeTurn(lease, id, turnMs, knownVersion, hold);
          await s.afterTake?.(n);
          return r;
        };
      }
      if (key === 'releaseTurn') {
        return async (lease: ServerLease, id: string): Promise<void> => {
          await s.beforeRelease?.();
          return target.releaseTurn(lease, id);
        };
      }
      if (key === 'requestHandover') {
        return async (lease: ServerLease, id: string): Promise<void> => {
          await target.requestHandover(lease, id);
          s.afterAsk?.();
        };
      }
      if (key === 'subscribe') {
        return async (serverId: string, on: HandoverEvents): Promise<HandoverListener> => {
          const l = await target.subscribe(serverId, { handover: on.handover, released: (id) => (s.released++, on.released(id)) });
          s.listening = true;
          return l;
        };
      }
      const v = Reflect.get(target, key, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return s;
}

/** A backend's connection option (a placeholder: the store is given). */
const backends: Array<[string, Omit<FleetGlobal, 'app'>, () => Promise<{ store(): Promise<GlobalStore>; drop(): Promise<void> } | undefined>]> = [
  ['Redis', { redis: { url: 'redis://unused' } }, async () => wrapRedis(await redisTestPrefix())],
  ['PostgreSQL', { postgres: { connectionString: 'unused' } }, async () => wrapPg(await pgTestSchema())],
];

function wrapRedis(r: RedisTestPrefix | undefined): { store(): Promise<GlobalStore>; drop(): Promise<void> } | undefined {
  return r === undefined ? undefined : { store: () => r.store({ app: 'wake' }), drop: () => r.drop() };
}

function wrapPg(db: PgTestSchema | undefined): { store(): Promise<GlobalStore>; drop(): Promise<void> } | undefined {
  return db === undefined ? undefined : { store: () => db.store({ app: 'wake' }), drop: () => db.drop() };
}

for (const [name, conn, open] of backends) {
  describe(`back mode's hand-over wake-up (${name})`, () => {
    let backend: Awaited<ReturnType<typeof open>>;
    const fleet = new EngineFleet();
    let n = 0;

    before(async () => void (backend = await open()));
    after(() => fleet.close(backend));

    /** Servers listening (polling out of the way: a request reaches a holder by its message only), the first holding a new session (nothing pending). */
    async function servers(count: number): Promise<{ spies: Spy[]; es: GlobalSessionEngine[]; id: string }> {
      const tag = `${++n}`;
      // The fallback timer (handoverFallbackMs) is far longer than a message takes even on a
      // loaded machine (at the default 50 ms a late NOTIFY lost to the timer in CI), yet
      // short of queueWaitMsMax: a waiter not listening ends its wait by the timer and fails.
      const g: FleetGlobal = { ...conn, app: 'wake', mode: 'back', writeBackMs: 600_000, handoverPollMs: 600_000, handoverFallbackMs: 3000, poolMax: 4 };
      const spies: Spy[] = [];
      const es: GlobalSessionEngine[] = [];
      for (let k = 0; k < count; k++) {
        spies.push(spy(await backend!.store()));
        es.push(await fleet.compose(`wake-${k}-${tag}`, g, spies[k]!.store, { queueWaitMsMax: 5000 }));
      }
      await until('every server listens', () => spies.every((x) => x.listening));
      const id = `WakeSession${tag.padStart(4, '0')}xxxxxxxxxxxxxxx`;
      await es[0]!.save(id, { attributes: { n: '1' } }); // created, held by the first
      return { spies, es, id };
    }

    async function pair(): Promise<{ a: Spy; b: Spy; id: string; eb: GlobalSessionEngine }> {
      const { spies, es, id } = await servers(2);
      return { a: spies[0]!, b: spies[1]!, id, eb: es[1]! };
    }

    const wakes = async (e: GlobalSessionEngine): Promise<{ byRelease: number; byTimer: number }> => {
      const s = (await e.stats()).global;
      return { byRelease: s.handoverWokenByRelease, byTimer: s.handoverWokenByTimer };
    };

    it('the release message wakes the waiter: one try before, one after, no timer', async (t) => {
      if (backend === undefined) return t.skip(`${name} not reachable`);
      const { a, b, id, eb } = await pair();
      let asked!: () => void;
      const askedP = new Promise<void>((r) => (asked = r));
      b.afterAsk = () => asked();
      // The holder releases a little after the waiter asked (and so waits): a waiter polling
      // from 1 ms would be woken by its timer first; one listening is woken by the message.
      a.beforeRelease = async () => {
        await askedP;
        await sleep(5);
      };
      const release = await eb.lock(id);
      release();
      assert.equal(b.takes, 2, 'one try finding the turn held, one taking it');
      assert.deepEqual(await wakes(eb), { byRelease: 1, byTimer: 0 });
      assert.equal(attributesFromBlob((await eb.get(id))!.attrs).get('n'), '1');
    });

    it('a release heard while a try is on its way (that try saw the turn held) ends the next wait at once', async (t) => {
      if (backend === undefined) return t.skip(`${name} not reachable`);
      const { b, id, eb } = await pair();
      // The first try answers 'held elsewhere' only once the holder was asked (here, by the
      // test) and its release message reached this server: a waiter listening only while it
      // waits would miss it and sleep until its timer.
      b.afterTake = async (k) => {
        if (k !== 1) return;
        await b.store.requestHandover((eb as unknown as { ownership: { lease: ServerLease } }).ownership.lease, id);
        await until('the release message reached the waiter', () => b.released >= 1);
      };
      const release = await eb.lock(id);
      release();
      assert.equal(b.takes, 2, 'the try that saw the turn held, then the one taking it');
      assert.deepEqual(await wakes(eb), { byRelease: 1, byTimer: 0 });
    });

    it('two waiters, one release: the one that finds the turn taken by the other asks the new holder at once', async (t) => {
      if (backend === undefined) return t.skip(`${name} not reachable`);
      const { spies, es, id } = await servers(3);
      let askedTwice!: () => void;
      const bothAsked = new Promise<void>((r) => (askedTwice = r));
      let asks = 0;
      for (const x of spies.slice(1)) x.afterAsk = () => void (++asks === 2 && askedTwice());
      spies[0]!.beforeRelease = () => bothAsked; // both wait when the holder releases
      const locks = es.slice(1).map((e) => e.lock(id).then((release) => ({ e, release })));
      const first = await Promise.race(locks);
      first.release(); // the winner's request ends: it hands the session over when asked
      const second = await locks[es.indexOf(first.e) === 1 ? 1 : 0]!;
      second.release();
      const loser = (await second.e.stats()).global;
      // Its second request went out right after the release woke it and its try found the
      // turn taken; without that, the next ask was handoverPollMs away (past queueWaitMsMax).
      assert.equal(loser.handoversAsked, 2);
      assert.ok(loser.handoverWokenByRelease >= 1);
    });
  });
}
