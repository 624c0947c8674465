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

    /** Holder `a` (holding a new session, nothing pending: its hand-over is the release alone) and waiter `b`, both listening. */
    async function pair(): Promise<{ a: Spy; b: Spy; id: string; eb: GlobalSessionEngine }> {
      const tag = `${++n}`;
      const a = spy(await backend!.store());
      const b = spy(await backend!.store());
      // Polling out of the way: a hand-over request reaches the holder by its message only.
      const g: FleetGlobal = { ...conn, app: 'wake', mode: 'back', writeBackMs: 600_000, handoverPollMs: 600_000, poolMax: 4 };
      const ea = await fleet.compose(`wake-a${tag}`, g, a.store);
      const eb = await fleet.compose(`wake-b${tag}`, g, b.store);
      await until('both servers listen', () => a.listening && b.listening);
      const id = `WakeSession${tag.padStart(4, '0')}xxxxxxxxxxxxxxx`;
      await ea.save(id, { attributes: { n: '1' } }); // created, held by a
      return { a, b, id, eb };
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
  });
}
