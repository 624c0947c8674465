/**
 * The lifetime part of the global store contract (kind: contract; called by
 * global-store-contract.ts, so it runs on every backend): destroy and its tombstone, clear,
 * touch and expiry, docs/failover.md §Contract.
 */
import assert from 'node:assert/strict';
import { isSessiondError } from '../../src/errors.js';
import type { GlobalStore } from '../../src/global/global-store.js';
import type { ContractHarness } from './global-store-contract.js';
import { HOUR, sid, w } from './contract-records.js';

export function lifetimeContract(t: (title: string, fn: () => Promise<void>) => void, get: () => { h: ContractHarness; s: GlobalStore }): void {
  t('destroys with the fence; the tombstone refuses a create of the ID on every server and reads as absent', async () => {
    const { h, s } = get();
    const me = await s.acquireLease('srv-destroy', 10_000);
    const other = await h!.store();
    const you = await other.acquireLease('srv-destroy-other', 10_000);
    const id = sid();
    const before = await s.count();
    await s.create(me, id, w('d'));
    assert.equal(await s.destroy(me, id, 2), 'conflict');
    assert.equal(await s.destroy(me, id, 1), 'ok');
    assert.equal(await s.load(id), undefined);
    assert.equal(await s.destroy(me, id, 1), 'absent');
    assert.equal(await s.destroy(me, id, 0), 'absent');
    for (const [st, l] of [[s, me], [other, you]] as const) {
      await assert.rejects(st.create(l, id, w('late')), (e: unknown) => isSessiondError(e, 'SESSIOND_SESSION_DESTROYED'));
    }
    assert.equal(await other.takeTurn(you, id, 10_000, 0).then((r) => r?.record), undefined);
    assert.equal(await s.write(me, id, 1, w('late'), true), 'absent');
    assert.equal(await s.touch(me, id, Date.now(), undefined, true), 'absent');
    assert.equal((await s.list(10_000)).some((r) => r.id === id), false);
    assert.equal(await s.count(), before);
    await h!.expireLease('srv-destroy');
    assert.deepEqual((await other.inheritBatch(you, 10_000)).includes(id), false, 'a tombstone is never inherited');
    assert.equal(await other.load(id), undefined);
  });

  t('a tombstone lasts tombstoneMs: then the ID can be created again, and cleanup removes a lapsed one; 0 keeps none', async () => {
    const { h } = get();
    // Long enough that the create below comes before it lapses on a loaded machine.
    const short = await h!.store('app', 1500);
    const me = await short.acquireLease('srv-tomb-short', 10_000);
    const [id, id2] = [sid(), sid()];
    await short.create(me, id, w('d'));
    await short.create(me, id2, w('d'));
    assert.equal(await short.destroy(me, id, 1), 'ok');
    assert.equal(await short.destroy(me, id2, 1), 'ok');
    await assert.rejects(short.create(me, id, w('late')), (e: unknown) => isSessiondError(e, 'SESSIOND_SESSION_DESTROYED'));
    await new Promise((r) => setTimeout(r, 1600));
    assert.equal(await short.create(me, id, w('again')), true);
    assert.equal((await short.load(id))?.version, 1);
    assert.equal((await short.load(id))?.attrs, 'again');
    let removed = -1;
    while (removed === -1) removed = await short.cleanupExpired(10_000);
    if (!h!.expiresNatively) assert.ok(removed >= 1, `cleanup removed the lapsed tombstone (${removed})`);
    assert.equal(await short.create(me, id2, w('again')), true, 'its ID is free');
    const none = await h!.store('app', 0);
    const l0 = await none.acquireLease('srv-tomb-none', 10_000);
    const id3 = sid();
    await none.create(l0, id3, w('d'));
    assert.equal(await none.destroy(l0, id3, 1), 'ok');
    assert.equal(await none.create(l0, id3, w('again')), true);
  });

  t('clear removes tombstones, counts only the records, and leaves each record a tombstone of its own', async () => {
    const { h } = get();
    const c = await h!.store('clear-tomb');
    await c.migrate();
    const me = await c.acquireLease('srv-clear-tomb', 10_000);
    const [a, b] = [sid(), sid()];
    await c.create(me, a, w('a'));
    await c.create(me, b, w('b'));
    assert.equal(await c.destroy(me, b, 1), 'ok');
    assert.equal(await c.count(), 1);
    assert.equal(await c.clear(), 1);
    assert.equal(await c.count(), 0);
    assert.equal(await c.load(a), undefined);
    assert.equal(await c.create(me, b, w('b again')), true, 'its tombstone went with the clear');
    await assert.rejects(c.create(me, a, w('a again')), (e) => isSessiondError(e, 'SESSIOND_SESSION_DESTROYED'), 'a cleared record is a tombstone: no late save or repair brings it back');
    await assert.rejects(c.restore(me, a, 0, 5, w('a restored')), (e) => isSessiondError(e, 'SESSIOND_SESSION_DESTROYED'));
    const none = await h!.store('clear-tomb', 0);
    const l0 = await none.acquireLease('srv-clear-tomb-0', 10_000);
    const c2 = sid();
    await none.create(l0, c2, w('c'));
    assert.equal(await none.clear(), 2, 'b again and c');
    assert.equal(await none.create(l0, c2, w('c again')), true, 'without tombstones, clear only deletes');
    await none.clear();
  });

  t('restore puts back a lost record at the version acknowledged, its turn held; refuses a live record, a tombstone, another owner', async () => {
    const { s } = get();
    const me = await s.acquireLease('srv-restore', 10_000);
    const other = await s.acquireLease('srv-restore-b', 10_000);
    const id = sid();
    const write = w('"n"\u00017');
    assert.equal(await s.restore(me, id, 0, 7, write), 'ok');
    assert.deepEqual(await s.load(id), { id, ...write, owner: 'srv-restore', ownerEpoch: me.epoch, version: 7, principal: '' });
    assert.equal(await s.takeTurn(other, id, 10_000, 0), undefined, 'the restorer holds the turn');
    assert.equal(await s.restore(other, id, 0, 9, w('theirs')), 'conflict', 'a live record is never replaced by a restore of an absent one');
    // The record older than acknowledged: a fenced replace that sets the version asked for.
    assert.equal(await s.restore(me, id, 7, 12, w('"n"\u000112')), 'ok');
    assert.equal((await s.load(id))?.version, 12);
    assert.equal(await s.restore(me, id, 7, 13, w('stale')), 'conflict', 'fenced by the version read');
    assert.equal(await s.restore(other, id, 12, 13, w('not theirs')), 'fenced', 'fenced by the owner');
    await s.releaseTurn(me, id);
    const turn = await s.takeTurn(other, id, 10_000, 0);
    assert.equal(turn?.record?.version, 12, 'released: another server takes the turn and sees the restored version');
    assert.equal(await s.destroy(other, id, 12), 'ok');
    await assert.rejects(s.restore(me, id, 0, 13, w('after logout')), (e) => isSessiondError(e, 'SESSIOND_SESSION_DESTROYED'));
  });

  t('touch moves the expiry without a new version, never moves the last access back; an expired record is never loaded and can be created again', async () => {
    const { s } = get();
    const me = await s.acquireLease('srv-touch', 10_000);
    const id = sid();
    const now = Date.now();
    await s.create(me, id, w('t', { expiresAtMs: now + HOUR, lastAccessAtMs: now }));
    assert.equal(await s.touch(me, id, now + 5, now + 2 * HOUR, false), 'ok');
    assert.equal(await s.touch(me, id, now - 1000, now + 2 * HOUR + 1, false), 'ok');
    const r = await s.load(id);
    assert.equal(r?.expiresAtMs, now + 2 * HOUR + 1);
    assert.equal(r?.lastAccessAtMs, now + 5, 'a late touch does not move the last access back');
    assert.equal(r?.version, 1, 'a touch is not a new version');
    assert.equal(r?.attrs, 't');
    assert.equal(await s.touch(me, id, now, now - 1, true), 'ok');
    assert.equal(await s.load(id), undefined);
    assert.equal(await s.touch(me, id, now, now + HOUR, true), 'absent');
    assert.equal(await s.create(me, id, w('reborn')), true);
    assert.equal((await s.load(id))?.attrs, 'reborn');
  });

  t('a throttled touch moves the times only once they moved by touchAfterMs (or half the idle timeout), or the expiry moved earlier', async () => {
    const { s } = get();
    const me = await s.acquireLease('srv-touch-after', 10_000);
    const [abs, idle] = [sid(), sid()];
    const now = Date.now();
    await s.create(me, abs, w('a', { expiresAtMs: now + HOUR, lastAccessAtMs: now }));
    await s.create(me, idle, w('i', { expiresAtMs: 0, maxInactiveMs: 10_000, lastAccessAtMs: now }));
    const times = async (id: string): Promise<[number, number]> => {
      const r = await s.load(id);
      return [r!.lastAccessAtMs, r!.expiresAtMs];
    };
    assert.equal(await s.touch(me, abs, now + 999, now + HOUR + 999, false, 1000), 'ok');
    assert.deepEqual(await times(abs), [now, now + HOUR], 'moved by less than touchAfterMs: unchanged');
    assert.equal(await s.touch(me, abs, now + 10, now + HOUR + 1000, false, 1000), 'ok');
    assert.deepEqual(await times(abs), [now + 10, now + HOUR + 1000], 'the expiry moved by touchAfterMs');
    assert.equal(await s.touch(me, abs, now + 20, now + HOUR, false, 1000), 'ok');
    assert.deepEqual(await times(abs), [now + 20, now + HOUR], 'an earlier expiry is never held back');
    assert.equal(await s.touch(me, idle, now + 4999, undefined, false, 60_000), 'ok');
    assert.deepEqual(await times(idle), [now, 0]);
    assert.equal(await s.touch(me, idle, now + 5000, undefined, false, 60_000), 'ok');
    assert.deepEqual(await times(idle), [now + 5000, 0], 'half the idle timeout is the most a touch is held back');
  });

  t('a touch by a server that lost the session to another changes nothing, so it never undoes that server\'s write', async () => {
    const { h, s } = get();
    const a = await s.acquireLease('srv-touch-a', 10_000);
    const b = await s.acquireLease('srv-touch-b', 10_000);
    const id = sid();
    const now = Date.now();
    await s.create(a, id, w('by-a', { expiresAtMs: now + HOUR, lastAccessAtMs: now }));
    const tb = await s.takeTurn(b, id, 10_000, 0);
    assert.equal(tb?.record?.owner, 'srv-touch-b');
    assert.equal(await s.write(b, id, 1, w('by-b', { expiresAtMs: now + 3 * HOUR, lastAccessAtMs: now + 10 }), true), 'ok');
    assert.equal(await s.touch(a, id, now + 20, now + 2 * HOUR, true), 'fenced');
    const r = await s.load(id);
    assert.deepEqual([r?.attrs, r?.expiresAtMs, r?.lastAccessAtMs, r?.owner, r?.version], ['by-b', now + 3 * HOUR, now + 10, 'srv-touch-b', 2]);
    // A zombie (lease lapsed) that still names itself the owner changes nothing either.
    assert.equal(await s.touch(b, id, now + 30, now + 4 * HOUR, false), 'ok');
    await h!.expireLease('srv-touch-b');
    assert.equal(await s.touch(b, id, now + 40, now + 5 * HOUR, false), 'fenced');
    assert.equal((await s.load(id))?.expiresAtMs, now + 4 * HOUR);
  });

  t('a touch that gives the turn back frees it for another server at once; one that does not keeps it', async () => {
    const { s } = get();
    const a = await s.acquireLease('srv-touch-turn-a', 10_000);
    const b = await s.acquireLease('srv-touch-turn-b', 10_000);
    const id = sid();
    await s.create(a, id, w('x'));
    assert.ok((await s.takeTurn(a, id, 10_000, 1))?.record !== undefined);
    assert.equal(await s.touch(a, id, Date.now(), undefined, false), 'ok');
    assert.equal(await s.takeTurn(b, id, 10_000, 1), undefined, 'still held after a touch that keeps it');
    assert.equal(await s.touch(a, id, Date.now(), undefined, true), 'ok');
    const tb = await s.takeTurn(b, id, 10_000, 1);
    assert.equal(tb?.record?.owner, 'srv-touch-turn-b');
    assert.equal(tb?.attrsOmitted, true, 'the touch made no new version: b\'s copy at version 1 is current');
  });

  t("a turn's touch that moves nothing (every read's last statement) keeps every fence of a touch, and gives the turn back", async () => {
    const { h, s } = get();
    const other = await h!.store();
    const a = await s.acquireLease('srv-quiet-a', 10_000);
    const b = await other.acquireLease('srv-quiet-b', 10_000);
    const now = Date.now();
    const [kept, lost, gone] = [sid(), sid(), sid()];
    await s.create(a, kept, w('x', { expiresAtMs: now + HOUR, lastAccessAtMs: now }));
    await s.create(a, lost, w('x', { expiresAtMs: now + HOUR, lastAccessAtMs: now }));
    // Moves nothing, the turn held: ok, the times as they were, the turn free for another server at once.
    assert.ok((await s.takeTurn(a, kept, 10_000, 1))?.record !== undefined);
    assert.equal(await s.touch(a, kept, now + 10, now + HOUR, true, 1000), 'ok');
    const tb = await other.takeTurn(b, kept, 10_000, 1);
    assert.deepEqual([tb?.record?.owner, tb?.record?.lastAccessAtMs, tb?.record?.expiresAtMs], ['srv-quiet-b', now, now + HOUR]);
    // The turn lapsed and another server took the session: fenced, and its turn stays its own.
    assert.ok((await s.takeTurn(a, lost, 200, 1))?.record !== undefined);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await other.takeTurn(b, lost, 10_000, 1))?.record?.owner, 'srv-quiet-b');
    assert.equal(await s.touch(a, lost, now + 10, undefined, true, 1000), 'fenced');
    assert.equal(await s.takeTurn(a, lost, 10_000, 1), undefined, "b's turn was not given back by a's touch");
    // The record ended meanwhile: absent.
    const soon = Date.now();
    await other.create(b, gone, w('x', { expiresAtMs: soon + 300, lastAccessAtMs: soon }));
    assert.ok((await other.takeTurn(b, gone, 10_000, 1))?.record !== undefined);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(await other.touch(b, gone, soon + 10, undefined, true, 1000), 'absent');
    // The toucher's lease lapsed: fenced.
    assert.ok((await other.takeTurn(b, kept, 10_000, 1))?.record !== undefined);
    await h!.expireLease('srv-quiet-b');
    assert.equal(await other.touch(b, kept, now + 10, undefined, true, 1000), 'fenced');
  });

  t("a turn's touch moves the times by the throttle's rule: the last access alone, the expiry alone, half the idle timeout", async () => {
    const { s } = get();
    const a = await s.acquireLease('srv-turn-touch', 10_000);
    const now = Date.now();
    const [last, exp, idle] = [sid(), sid(), sid()];
    await s.create(a, last, w('x', { expiresAtMs: now + HOUR, lastAccessAtMs: now }));
    await s.create(a, exp, w('x', { expiresAtMs: now + HOUR, lastAccessAtMs: now }));
    await s.create(a, idle, w('x', { expiresAtMs: 0, maxInactiveMs: 10_000, lastAccessAtMs: now }));
    const touched = async (id: string, at: number, x: number | undefined, after: number): Promise<[number, number] | undefined> => {
      assert.ok((await s.takeTurn(a, id, 10_000, 1))?.record !== undefined);
      assert.equal(await s.touch(a, id, at, x, true, after), 'ok');
      const r = await s.load(id);
      return r === undefined ? undefined : [r.lastAccessAtMs, r.expiresAtMs];
    };
    assert.deepEqual(await touched(last, now + 1000, undefined, 1000), [now + 1000, now + HOUR], 'the last access moved by touchAfterMs');
    assert.deepEqual(await touched(exp, now + 1, now + HOUR + 1000, 1000), [now + 1, now + HOUR + 1000], 'the expiry moved by touchAfterMs');
    assert.deepEqual(await touched(exp, now + 2, now + HOUR + 999, 1000), [now + 2, now + HOUR + 999], 'an earlier expiry: always applied');
    assert.deepEqual(await touched(idle, now + 4999, undefined, 60_000), [now, 0], 'less than half the idle timeout: unchanged');
    assert.deepEqual(await touched(idle, now + 5000, undefined, 60_000), [now + 5000, 0], 'half the idle timeout');
  });
}
