/**
 * The global store contract suite (kind: contract). Every backend runs it (PostgreSQL in
 * global-store-postgres.test.ts; Redis runs the same function): it proves the guarantees
 * the composed engine relies on, docs/failover.md §Contract.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isSessiondError } from '../../src/errors.js';
import type { GlobalStore } from '../../src/global/global-store.js';
import { principalIndexContract } from './global-store-principal-contract.js';
import { lifetimeContract } from './global-store-lifetime-contract.js';
import { sid, w } from './contract-records.js';

export interface ContractHarness {
  /** A store on the shared backend for `app` (each call a new client: another "server"); `tombstoneMs` as the store option (its default when undefined). */
  store(app?: string, tombstoneMs?: number): Promise<GlobalStore>;
  /** Makes a server's lease lapse now, in the backend's clock. */
  expireLease(serverId: string): Promise<void>;
  /** Releases everything the harness made (schema, keys). */
  teardown(): Promise<void>;
  /**
   * The backend removes a record by itself at its expiry (Redis PEXPIREAT), so cleanup
   * finds fewer expired records to remove; the records must be gone either way.
   */
  expiresNatively?: boolean;
}

export function globalStoreContract(name: string, make: () => Promise<ContractHarness | undefined>): void {
  describe(`global store contract: ${name}`, () => {
    let h: ContractHarness | undefined;
    let s: GlobalStore;
    before(async () => {
      h = await make();
      if (h !== undefined) {
        s = await h.store();
        await s.migrate();
      }
    });
    after(async () => h?.teardown());
    const t = (title: string, fn: () => Promise<void>): void => {
      it(title, async (ctx) => {
        if (h === undefined) return ctx.skip('backend not reachable');
        await fn();
      });
    };

    t('migrates idempotently, also when several servers start at once', async () => {
      const others = await Promise.all([h!.store(), h!.store(), h!.store()]);
      await Promise.all(others.map((o) => o.migrate()));
      await s.migrate();
    });

    t('gives every lease a new, larger epoch, and renews only the live lease with its own epoch', async () => {
      const a = await s.acquireLease('srv-epoch', 10_000);
      const b = await s.acquireLease('srv-epoch', 10_000);
      assert.ok(b.epoch > a.epoch);
      assert.equal(await s.renewLease(a, 10_000), false, 'an older epoch cannot renew');
      assert.equal(await s.renewLease(b, 10_000), true);
      await h!.expireLease('srv-epoch');
      assert.equal(await s.renewLease(b, 10_000), false, 'a lapsed lease cannot be renewed');
    });

    t('creates a record once, loads it back, and refuses a second create of a live ID', async () => {
      const me = await s.acquireLease('srv-create', 10_000);
      const id = sid();
      const write = w('"a"\u00011');
      assert.equal(await s.create(me, id, write), true);
      const r = await s.load(id);
      assert.deepEqual(r, { id, ...write, owner: 'srv-create', ownerEpoch: me.epoch, version: 1, principal: '' });
      assert.equal(await s.create(me, id, w('x')), false);
    });

    t('writes only with the owner, its epoch and the version read; says why otherwise', async () => {
      const me = await s.acquireLease('srv-write', 10_000);
      const other = await s.acquireLease('srv-write-other', 10_000);
      const id = sid();
      await s.create(me, id, w('v1'));
      assert.equal(await s.write(me, id, 1, w('v2'), false), 'ok');
      assert.equal(await s.write(me, id, 1, w('stale'), false), 'conflict');
      assert.equal(await s.write(other, id, 2, w('not mine'), false), 'fenced');
      assert.equal(await s.write(me, sid(), 1, w('nothing'), false), 'absent');
      const r = await s.load(id);
      assert.equal(r?.attrs, 'v2');
      assert.equal(r?.version, 2);
    });

    t('fences a server whose lease lapsed: 0 rows written, SESSIOND_FENCED on its next turn', async () => {
      const zombie = await s.acquireLease('srv-zombie', 10_000);
      const id = sid();
      await s.create(zombie, id, w('before'));
      await h!.expireLease('srv-zombie');
      assert.equal(await s.write(zombie, id, 1, w('late'), false), 'fenced');
      assert.equal(await s.destroy(zombie, id, 1), 'fenced');
      await assert.rejects(s.takeTurn(zombie, id, 5000, 0), (e) => isSessiondError(e, 'SESSIOND_FENCED'));
      await assert.rejects(s.create(zombie, sid(), w('x')), (e) => isSessiondError(e, 'SESSIOND_FENCED'));
      assert.equal((await s.load(id))?.attrs, 'before');
    });

    t('serializes a session across servers with a turn on its record, and moves ownership with it', async () => {
      const a = await s.acquireLease('srv-turn-a', 10_000);
      const b = await s.acquireLease('srv-turn-b', 10_000);
      const id = sid();
      const created = w('a1');
      await s.create(a, id, created);
      const ta = await s.takeTurn(a, id, 10_000, 1);
      assert.equal(ta?.attrsOmitted, true, 'the caller already has version 1');
      assert.equal(await s.takeTurn(b, id, 10_000, 0), undefined, 'a live holder keeps the turn');
      assert.equal(await s.write(a, id, 1, w('a2', { createdAtMs: created.createdAtMs }), true), 'ok');
      const tb = await s.takeTurn(b, id, 10_000, 1);
      assert.equal(tb?.record?.owner, 'srv-turn-b');
      assert.equal(tb?.record?.attrs, 'a2');
      assert.equal(tb?.inherited, false);
      assert.equal(tb?.record?.createdAtMs, created.createdAtMs);
      assert.equal(await s.write(a, id, 2, w('a late write'), false), 'fenced');
      await s.releaseTurn(b, id);
      assert.equal((await s.takeTurn(a, id, 10_000, 2))?.record?.owner, 'srv-turn-a');
      assert.deepEqual(await s.takeTurn(a, sid(), 10_000, 0), { record: undefined, attrsOmitted: false, inherited: false });
    });

    t('inherits the session of a server whose lease lapsed, keeping its creation time, even mid-turn', async () => {
      const dead = await s.acquireLease('srv-dead', 10_000);
      const heir = await s.acquireLease('srv-heir', 10_000);
      const id = sid();
      const created = w('x', { createdAtMs: 1_000_000 });
      await s.create(dead, id, created);
      await s.takeTurn(dead, id, 60_000, 1);
      await h!.expireLease('srv-dead');
      const t2 = await s.takeTurn(heir, id, 10_000, 0);
      assert.equal(t2?.inherited, true);
      assert.equal(t2?.record?.owner, 'srv-heir');
      assert.equal(t2?.record?.createdAtMs, 1_000_000);
      assert.equal(await s.write(dead, id, 1, w('zombie'), false), 'fenced');
    });

    t('inherits a dead server\'s sessions in bounded background batches', async () => {
      const b = await h!.store('batch-app');
      await b.migrate();
      const dead = await b.acquireLease('srv-batch-dead', 10_000);
      const heir = await b.acquireLease('srv-batch-heir', 10_000);
      const ids = Array.from({ length: 5 }, sid);
      for (const id of ids) await b.create(dead, id, w('b'));
      assert.deepEqual(await b.inheritBatch(heir, 10), [], 'nothing while the owner lives');
      await h!.expireLease('srv-batch-dead');
      const first = await b.inheritBatch(heir, 3);
      assert.equal(first.length, 3);
      const rest = await b.inheritBatch(heir, 10);
      assert.deepEqual([...first, ...rest].sort(), [...ids].sort());
      for (const id of ids) assert.equal((await b.load(id))?.owner, 'srv-batch-heir');
    });

    t('a restarted server adopts the sessions still carrying its old epoch, not the inherited ones', async () => {
      const old = await s.acquireLease('srv-restart', 10_000);
      const heir = await s.acquireLease('srv-restart-heir', 10_000);
      const kept = sid();
      const lost = sid();
      await s.create(old, kept, w('k'));
      await s.create(old, lost, w('l'));
      await h!.expireLease('srv-restart');
      await s.takeTurn(heir, lost, 10_000, 0);
      const fresh = await s.acquireLease('srv-restart', 10_000);
      assert.equal(await s.adopt(fresh), 1);
      assert.equal((await s.load(kept))?.ownerEpoch, fresh.epoch);
      assert.equal((await s.load(lost))?.owner, 'srv-restart-heir');
    });

    // destroy, tombstones, clear, touch and expiry (in the order they always ran)
    lifetimeContract(t, () => ({ h: h!, s }));

    t('concurrent turns of many sessions each get their own answer: taken (attrs left out or not), busy, absent, inherited', async () => {
      const a = await s.acquireLease('srv-many-a', 10_000);
      const b = await s.acquireLease('srv-many-b', 10_000);
      const dead = await s.acquireLease('srv-many-dead', 10_000);
      const ids = Array.from({ length: 10 }, () => sid());
      for (const id of ids) await s.create(a, id, w(`m-${id}`));
      for (const id of ids.slice(6, 8)) assert.ok((await s.takeTurn(b, id, 60_000, 1))?.record !== undefined);
      for (const id of ids.slice(8, 10)) assert.ok((await s.takeTurn(dead, id, 60_000, 1))?.record !== undefined);
      await h!.expireLease('srv-many-dead');
      const absent = [sid(), sid()];
      const asks = [...ids.map((id, i) => ({ id, known: i < 4 ? 1 : 0 })), ...absent.map((id) => ({ id, known: 0 }))];
      const answers = await Promise.all(asks.map((x) => s.takeTurn(a, x.id, 10_000, x.known)));
      answers.forEach((r, i) => {
        const id = asks[i]!.id;
        if (i < 6 || i >= 8) {
          if (i >= 10) return assert.deepEqual(r, { record: undefined, attrsOmitted: false, inherited: false }, `${id}: absent`);
          assert.equal(r?.record?.owner, 'srv-many-a', `${id}: taken`);
          assert.equal(r?.attrsOmitted, i < 4, `${id}: attrs left out only for the known version`);
          if (i >= 4) assert.equal(r?.record?.attrs, `m-${id}`);
          assert.equal(r?.inherited, i >= 8, `${id}: inherited only from the dead server`);
        } else assert.equal(r, undefined, `${id}: held by a live server`);
      });
    });

    t('two servers taking the same sessions at once, in opposite orders, never deadlock (a backend that batches turns must lock rows in one order): each turn goes to exactly one', async () => {
      const other = await h!.store();
      const a = await s.acquireLease('srv-race-a', 600_000);
      const b = await other.acquireLease('srv-race-b', 600_000);
      const ids = Array.from({ length: 48 }, () => sid());
      for (const id of ids) await s.create(a, id, w('r'));
      for (let round = 0; round < 12; round++) {
        const [ra, rb] = await Promise.all([
          Promise.all(ids.map((id) => s.takeTurn(a, id, 10_000, 1))),
          Promise.all([...ids].reverse().map((id) => other.takeTurn(b, id, 10_000, 1))),
        ]);
        rb.reverse();
        ids.forEach((id, i) => assert.equal((ra[i]?.record !== undefined ? 1 : 0) + (rb[i]?.record !== undefined ? 1 : 0), 1, `round ${round}, ${id}: one taker`));
        await Promise.all(ids.flatMap((id) => [s.releaseTurn(a, id), other.releaseTurn(b, id)]));
      }
    });

    t('cleans expired records up in bounded batches, one server at a time', async () => {
      const c = await h!.store('cleanup-app');
      await c.migrate();
      const me = await c.acquireLease('srv-clean', 10_000);
      for (let i = 0; i < 7; i++) await c.create(me, sid(), w('e', { expiresAtMs: Date.now() - 1000 }));
      await c.create(me, sid(), w('alive'));
      const [x, y] = await Promise.all([c.cleanupExpired(5), c.cleanupExpired(5)]);
      let removed = Math.max(x!, 0) + Math.max(y!, 0);
      assert.ok(x! <= 5 && y! <= 5);
      for (let n = await c.cleanupExpired(5); n > 0; n = await c.cleanupExpired(5)) removed += n;
      if (h!.expiresNatively === true) assert.ok(removed <= 7);
      else assert.equal(removed, 7);
      assert.equal(await c.count(), 1);
      assert.equal((await c.list(100)).length, 1, 'no expired record is listed');
    });

    t('keeps applications apart: one app never reads, writes or inherits another\'s sessions', async () => {
      const other = await h!.store('other-app');
      await other.migrate();
      const me = await s.acquireLease('srv-apps', 10_000);
      const them = await other.acquireLease('srv-apps', 10_000);
      const id = sid();
      await s.create(me, id, w('mine'));
      assert.equal(await other.load(id), undefined);
      assert.equal(await other.create(them, id, w('theirs')), true, 'the same ID is another session in another app');
      assert.equal((await s.load(id))?.attrs, 'mine');
      await h!.expireLease('srv-apps');
      const heir = await other.acquireLease('srv-apps-heir', 10_000);
      const taken = await other.inheritBatch(heir, 1000);
      assert.deepEqual(taken, [id]);
      assert.equal((await s.load(id))?.owner, 'srv-apps');
      assert.equal(await other.clear(), 1);
      assert.equal((await s.load(id))?.attrs, 'mine');
    });

    t('a held turn (back mode) lasts until released or until the holder has no live lease; a restarted holder adopts it, still held', async () => {
      const a = await s.acquireLease('srv-hold', 10_000);
      const b = await s.acquireLease('srv-hold-b', 10_000);
      const id = sid();
      assert.equal(await s.create(a, id, w('h'), true), true);
      assert.equal(await s.takeTurn(b, id, 100, 0), undefined, 'held by a live server');
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(await s.takeTurn(b, id, 100, 0, true), undefined, 'a held turn has no end of its own');
      const taken = sid();
      await s.create(a, taken, w('t'), false);
      assert.ok((await s.takeTurn(a, taken, 10_000, 0, true)) !== undefined);
      assert.equal(await s.takeTurn(b, taken, 100, 0), undefined, 'takeTurn with hold holds too');
      const a2 = await s.acquireLease('srv-hold', 10_000); // a restarted: its old epoch is gone, the server is alive
      await new Promise((r) => setTimeout(r, 150)); // past any cache of the old epoch seen live (Redis: LIVE_CACHE_MS)
      assert.equal(await s.takeTurn(b, id, 100, 0), undefined, 'the rows of a restarted server are not inherited by others');
      assert.equal(await s.inheritBatch(b, 1000).then((ids) => ids.includes(id)), false);
      assert.equal(await s.adopt(a2), 2);
      assert.equal((await s.load(id))?.ownerEpoch, a2.epoch);
      assert.equal(await s.takeTurn(b, id, 100, 0), undefined, 'adopted still held');
      await s.releaseTurn(a2, id);
      assert.equal((await s.takeTurn(b, id, 10_000, 0, true))?.record?.id, id);
      await h!.expireLease('srv-hold-b');
      const r = await s.takeTurn(a2, id, 10_000, 0, true);
      assert.equal(r?.inherited, true, 'a lapsed lease voids the held turn');
    });

    t('a hand-over request reaches the holder (notification and the polled mark); its release wakes the server that asked', async () => {
      const a = await s.acquireLease('srv-handover', 10_000);
      const b = await s.acquireLease('srv-handover-b', 10_000);
      const id = `${sid()} with space\nand "newline"`; // any characters: the messages must not split it
      const seen: string[] = [];
      const la = await s.subscribe('srv-handover', { handover: (x) => seen.push(`h ${x}`), released: () => undefined });
      const lb = await s.subscribe('srv-handover-b', { handover: (x) => seen.push(`wrong ${x}`), released: (x) => seen.push(`r ${x}`) });
      try {
        await s.create(a, id, w('x'), true);
        await s.requestHandover(b, id);
        for (let i = 0; i < 200 && !seen.includes(`h ${id}`); i++) await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(seen, [`h ${id}`]);
        assert.deepEqual(await s.handoverRequests(a, 10), [id]);
        assert.deepEqual(await s.handoverRequests(b, 10), []);
        await s.releaseTurn(a, id);
        for (let i = 0; i < 200 && !seen.includes(`r ${id}`); i++) await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(seen, [`h ${id}`, `r ${id}`]);
        assert.deepEqual(await s.handoverRequests(a, 10), []);
        assert.ok((await s.takeTurn(b, id, 10_000, 0, true)) !== undefined);
      } finally {
        await la.close();
        await lb.close();
      }
      assert.equal(la.live, false);
    });

    t('a hand-over request ends with the turn it asked for: a server that inherits the turn releases it without waking anyone', async () => {
      const a = await s.acquireLease('srv-handover-dead', 10_000);
      const b = await s.acquireLease('srv-handover-dead-b', 10_000);
      const id = sid();
      const seen: string[] = [];
      // Only this session's messages: a release of an earlier test may still be on its way (a cluster's subscriber).
      const lb = await s.subscribe('srv-handover-dead-b', { handover: () => undefined, released: (x) => x === id && seen.push(x) });
      try {
        await s.create(a, id, w('x'), true);
        await s.requestHandover(b, id);
        await h!.expireLease('srv-handover-dead'); // the holder dies before it hands the session over
        assert.equal((await s.takeTurn(b, id, 10_000, 0, true))?.inherited, true);
        await s.releaseTurn(b, id);
        await s.releaseTurn(a, id); // the dead holder's late release is fenced: no message either
        await new Promise((r) => setTimeout(r, 200));
        assert.deepEqual(seen, [], 'nobody asked the new holder for it');
      } finally {
        await lb.close();
      }
    });

    t('writes many records in one batch, each with its own fence and outcome', async () => {
      const me = await s.acquireLease('srv-batch', 10_000);
      const ids = [sid(), sid(), sid()];
      for (const id of ids) await s.create(me, id, w('v1'), true);
      const out = await s.writeBatch(me, [
        { id: ids[0]!, expectedVersion: 1, w: w('a2') },
        { id: ids[1]!, expectedVersion: 5, w: w('stale') },
        { id: ids[2]!, expectedVersion: 1, w: w('c2') },
      ]);
      assert.deepEqual(out, ['ok', 'conflict', 'ok']);
      assert.deepEqual(await Promise.all(ids.map(async (id) => [(await s.load(id))?.attrs, (await s.load(id))?.version])), [['a2', 2], ['v1', 1], ['c2', 2]]);
      assert.equal(await s.takeTurn(await s.acquireLease('srv-batch-b', 10_000), ids[0]!, 100, 0), undefined, 'a batch write keeps the turn');
      await h!.expireLease('srv-batch');
      assert.deepEqual(await s.writeBatch(me, [{ id: ids[0]!, expectedVersion: 2, w: w('late') }]), ['fenced']);
      assert.equal((await s.load(ids[0]!))?.attrs, 'a2');
    });

    t('a batch write is fenced on a session another live server took at the same version; the rest of the batch lands', async () => {
      const me = await s.acquireLease('srv-batch-own', 10_000);
      const other = await s.acquireLease('srv-batch-own-b', 10_000);
      const ids = [sid(), sid()];
      for (const id of ids) await s.create(me, id, w('v1'), true);
      await s.releaseTurn(me, ids[0]!); // handed over: the version stays 1, only the owner moves
      assert.ok((await s.takeTurn(other, ids[0]!, 10_000, 1, true))?.record !== undefined);
      const out = await s.writeBatch(me, [
        { id: ids[0]!, expectedVersion: 1, w: w('late') },
        { id: ids[1]!, expectedVersion: 1, w: w('b2') },
      ]);
      assert.deepEqual(out, ['fenced', 'ok']);
      assert.deepEqual(await Promise.all(ids.map(async (id) => (await s.load(id))?.attrs)), ['v1', 'b2']);
    });

    t("a batch write is fenced on a row of this server's older epoch, not adopted yet", async () => {
      const old = await s.acquireLease('srv-batch-epoch', 10_000);
      const id = sid();
      await s.create(old, id, w('v1'), true);
      const me = await s.acquireLease('srv-batch-epoch', 10_000); // restarted: a new epoch, its rows not adopted yet
      assert.deepEqual(await s.writeBatch(me, [{ id, expectedVersion: 1, w: w('early') }]), ['fenced']);
      assert.equal((await s.load(id))?.attrs, 'v1');
    });

    t('a batch write does not bring an expired record back', async () => {
      const me = await s.acquireLease('srv-batch-expired', 10_000);
      const id = sid();
      await s.create(me, id, w('v1', { expiresAtMs: Date.now() - 1000 }), true);
      assert.deepEqual(await s.writeBatch(me, [{ id, expectedVersion: 1, w: w('late') }]), ['absent']);
      assert.equal(await s.load(id), undefined);
    });

    t('lists and counts the live records of its app', async () => {
      const l = await h!.store('list-app');
      await l.migrate();
      const me = await l.acquireLease('srv-list', 10_000);
      const ids = [sid(), sid()];
      for (const id of ids) await l.create(me, id, w('l'));
      await l.create(me, sid(), w('gone', { expiresAtMs: Date.now() - 1 }));
      assert.equal(await l.count(), 2);
      assert.deepEqual((await l.list(100)).map((r) => r.id), ids);
    });

    principalIndexContract(t, () => ({ h: h!, s }));
  });
}
