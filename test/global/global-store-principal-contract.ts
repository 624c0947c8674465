/**
 * The global principal index part of the global store contract (kind: contract; called by
 * global-store-contract.ts, so it runs on PostgreSQL, Redis and Redis Cluster): issue 12's
 * `sessionsOf` / `destroyAllOf` see the sessions every server wrote (docs/failover.md
 * §Sessions of a principal). Two stores on the same backend stand for two servers.
 */
import assert from 'node:assert/strict';
import { isSessiondError } from '../../src/errors.js';
import type { GlobalStore, GlobalWrite, ServerLease } from '../../src/global/global-store.js';
import type { ContractHarness } from './global-store-contract.js';

let seq = 0;
const sid = (): string => `prin${String(++seq).padStart(5, '0')}xxxxxxxxxxxxxxx`;
const HOUR = 3_600_000;

function w(principal: string, over: Partial<GlobalWrite> = {}): GlobalWrite {
  const now = Date.now();
  return { attrs: `"${principal}"`, createdAtMs: now, lastAccessAtMs: now, expiresAtMs: now + HOUR, maxInactiveMs: 0, principal, ...over };
}

const idsOf = async (s: GlobalStore, p: string): Promise<string[]> => (await s.sessionsOf(p, 100_000)).map((r) => r.id);
const sorted = (ids: string[]): string[] => [...ids].sort();

/** Runs `fn` over `items`, `n` at a time. */
async function each<T>(items: readonly T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: n }, async () => {
    for (let x = queue.shift(); x !== undefined; x = queue.shift()) await fn(x);
  }));
}

export function principalIndexContract(t: (title: string, fn: () => Promise<void>) => void, get: () => { h: ContractHarness; s: GlobalStore }): void {
  /** Two servers: `a` on the suite's store, `b` on a store of its own (another client). */
  async function servers(name: string): Promise<{ a: GlobalStore; b: GlobalStore; la: ServerLease; lb: ServerLease }> {
    const { h, s } = get();
    const b = await h.store();
    return { a: s, b, la: await s.acquireLease(`${name}-a`, 60_000), lb: await b.acquireLease(`${name}-b`, 60_000) };
  }

  t('principal index: sessionsOf lists what another server wrote; a change of principal moves it; destroy and expiry remove it', async () => {
    const { a, b, lb } = await servers('srv-prin');
    const [x1, x2, y, none] = [sid(), sid(), sid(), sid()];
    const alice = `alice-${x1}`;
    const bob = `bob-${x1}`;
    for (const [id, p] of [[x1, alice], [x2, alice], [y, bob], [none, '']] as const) assert.equal(await b.create(lb, id, w(p)), true);
    assert.deepEqual(await idsOf(a, alice), sorted([x1, x2]), 'server a finds what server b created');
    const r = (await a.sessionsOf(alice, 10)).find((x) => x.id === x1);
    assert.equal(r?.principal, alice);
    assert.equal((await a.load(x1))?.principal, alice);
    assert.equal((await a.load(none))?.principal, '');
    assert.deepEqual(await idsOf(a, bob), [y]);
    assert.equal(await b.write(lb, x2, 1, w(bob), false), 'ok');
    assert.deepEqual(await idsOf(a, alice), [x1], 'moved away');
    assert.deepEqual(await idsOf(a, bob), sorted([x2, y]), 'moved in');
    assert.equal(await b.write(lb, x2, 2, w(alice), false), 'ok');
    assert.deepEqual(await idsOf(a, alice), sorted([x1, x2]), 'and back');
    assert.deepEqual(await idsOf(a, bob), [y]);
    assert.equal(await b.write(lb, y, 1, w(''), false), 'ok');
    assert.deepEqual(await idsOf(a, bob), [], 'a write without principal leaves the index');
    assert.equal((await a.load(y))?.principal, '', 'and the record names none any more');
    assert.equal(await b.destroy(lb, x1, 1), 'ok');
    assert.deepEqual(await idsOf(a, alice), [x2], 'a tombstone is not listed');
    // Expiry: the touch moves the expiry into the past (a record is live until its end, by the backend's clock).
    assert.equal(await b.touch(lb, x2, Date.now(), Date.now() - 1, false), 'ok');
    assert.deepEqual(await idsOf(a, alice), [], 'an expired record is not listed');
    assert.equal(await b.create(lb, x2, w(alice)), true, 'its ID can be created again');
    assert.deepEqual(await idsOf(a, alice), [x2]);
    assert.equal((await a.sessionsOf(alice, 0)).length, 0, 'at most limit');
  });

  t('principal index: a touch that moves the end far ahead (sliding expiry) keeps the record listed', async () => {
    const { a, b, lb } = await servers('srv-prin-touch');
    const id = sid();
    const p = `carol-${id}`;
    const now = Date.now();
    assert.equal(await b.create(lb, id, w(p, { lastAccessAtMs: now, expiresAtMs: 0, maxInactiveMs: 60_000 })), true);
    for (const ahead of [10 * HOUR, 100 * HOUR]) assert.equal(await b.touch(lb, id, now + ahead, undefined, true), 'ok');
    assert.equal((await a.load(id))?.lastAccessAtMs, now + 100 * HOUR);
    assert.deepEqual(await idsOf(a, p), [id]);
  });

  t('principal index: destroyAllOf tombstones the records nobody holds the turn of, reports held ones busy, keeps except, and needs a live lease', async () => {
    const { h } = get();
    const { a, b, la, lb } = await servers('srv-revoke');
    const ids = [sid(), sid(), sid(), sid()];
    const other = sid();
    const p = `dave-${ids[0]}`;
    for (const id of ids) assert.equal(await b.create(lb, id, w(p)), true);
    assert.equal(await b.create(lb, other, w(`erin-${ids[0]}`)), true);
    assert.ok((await b.takeTurn(lb, ids[2]!, 60_000, 1)) !== undefined, 'a request in flight on b holds ids[2]');
    const r = await a.destroyAllOf(la, p, [ids[3]!]);
    assert.deepEqual(r, { destroyed: sorted([ids[0]!, ids[1]!]), busy: [ids[2]!] });
    assert.equal(await a.load(ids[0]!), undefined);
    await assert.rejects(b.create(lb, ids[0]!, w(p)), (e: unknown) => isSessiondError(e, 'SESSIOND_SESSION_DESTROYED'), 'the tombstone refuses a late save');
    assert.equal(await b.write(lb, ids[1]!, 1, w(p), false), 'absent');
    assert.deepEqual(await idsOf(a, p), sorted([ids[2]!, ids[3]!]));
    assert.equal((await a.load(other))?.principal, `erin-${ids[0]}`, 'another principal untouched');
    // The busy one, under its turn: the holder's fenced destroy (what the engine does after taking it).
    assert.equal(await b.destroy(lb, ids[2]!, 1), 'ok');
    assert.deepEqual(await a.destroyAllOf(la, p, [ids[3]!]), { destroyed: [], busy: [] });
    assert.deepEqual(await a.destroyAllOf(la, p, []), { destroyed: [ids[3]!], busy: [] });
    assert.deepEqual(await idsOf(a, p), []);
    const late = sid();
    assert.equal(await b.create(lb, late, w(p)), true);
    await h.expireLease('srv-revoke-a');
    await assert.rejects(a.destroyAllOf(la, p, []), (e: unknown) => isSessiondError(e, 'SESSIOND_FENCED'));
    assert.deepEqual(await idsOf(a, p), [late], 'a fenced revoke destroys nothing');
  });

  t('principal index: 500 principals with 1-20 sessions each on two servers; revoking half leaves the rest intact', async () => {
    const { a, b, la, lb } = await servers('srv-many');
    const tag = sid();
    const principals = Array.from({ length: 500 }, (_, i) => ({ p: `user${i}-${tag}`, n: 1 + ((i * 7) % 20), ids: [] as string[] }));
    const creates = principals.flatMap((x, i) => Array.from({ length: x.n }, (_, j) => ({ x, id: `${tag}-${i}-${j}`, on: j % 2 === 0 ? { s: a, l: la } : { s: b, l: lb } })));
    await each(creates, 32, async (c) => {
      assert.equal(await c.on.s.create(c.on.l, c.id, w(c.x.p)), true);
      c.x.ids.push(c.id);
    });
    const revoked = principals.filter((_, i) => i % 2 === 1);
    await each(revoked, 16, async (x) => {
      const r = await (x.p.length % 2 === 0 ? a.destroyAllOf(la, x.p, []) : b.destroyAllOf(lb, x.p, []));
      assert.deepEqual(r, { destroyed: sorted(x.ids), busy: [] }, x.p);
    });
    await each(principals, 16, async (x) => {
      const i = principals.indexOf(x);
      assert.deepEqual(await idsOf(i % 3 === 0 ? a : b, x.p), i % 2 === 1 ? [] : sorted(x.ids), x.p);
    });
  });
}
