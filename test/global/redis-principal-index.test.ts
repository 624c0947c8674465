/**
 * The Redis principal index's invariants (kind: integration, the machine's Redis, own key
 * prefix; docs/failover.md §Sessions of a principal): a live record naming a principal is
 * a member of the principal's sorted set with a score (its coverage) at least its end; the
 * set expires at its highest score; members leave after a destroy or a move unless re-added
 * since, and past ones are pruned in bounded batches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NEVER } from '../../src/global/redis/redis-context.js';
import { withRedisPrefix } from './redis-harness.js';

const HOUR = 3_600_000;

test('the principal set covers every live record naming it, follows touches and moves, and prunes what is past', async (t) => {
  await withRedisPrefix(t, async (r) => {
    const s = await r.store();
    await r.admin.call('HSET', `${r.prefix}{app}:meta`, 'schemaVersion', '1'); // a store of layout 1 (no principal index)
    await s.migrate();
    assert.equal(await r.admin.call('HGET', `${r.prefix}{app}:meta`, 'schemaVersion'), '2', 'raised to layout 2: a layout-1 server (which would not keep the sets) refuses to start');
    const me = await s.acquireLease('srv-cover', 60_000);
    const set = (p: string): string => `${r.prefix}p{app:${p}}`;
    const score = async (p: string, id: string): Promise<number | undefined> => {
      const v = await r.admin.call('ZSCORE', set(p), id);
      return v === null ? undefined : Number(v);
    };
    const field = async (id: string, f: string): Promise<string | null> => (await r.admin.call('HGET', `${r.prefix}{app:${id}}`, f)) as string | null;
    const now = Date.now();
    const id = 'CoverSessionAAAAAAAAAAAA';
    // Sliding expiry of 1 min: its end is now + 1 min; the coverage has a lifetime of headroom.
    assert.equal(await s.create(me, id, { attrs: 'x', createdAtMs: now, lastAccessAtMs: now, expiresAtMs: 0, maxInactiveMs: 60_000, principal: 'kim' }), true);
    const first = await score('kim', id);
    assert.equal(first, now + 120_000);
    assert.equal(await field(id, 'q'), String(first));
    assert.equal(await field(id, 'p'), 'kim');
    const ttl = Number(await r.admin.call('PEXPIRETIME', set('kim')));
    assert.equal(ttl, first, 'the set expires at its highest score');
    // A touch far ahead: the score follows before the record's end moves.
    assert.equal(await s.touch(me, id, now + 10 * HOUR, undefined, false), 'ok');
    const u = Number(await field(id, 'u'));
    assert.equal(u, now + 10 * HOUR + 60_000);
    assert.ok((await score('kim', id))! >= u, 'coverage >= end after the touch');
    assert.equal(await field(id, 'q'), String(await score('kim', id)));
    assert.ok(Number(await r.admin.call('PEXPIRETIME', set('kim'))) >= u);
    // A move: kim's set loses it, lee's has it.
    assert.equal(await s.write(me, id, 1, { attrs: 'y', createdAtMs: now, lastAccessAtMs: now, expiresAtMs: now + HOUR, maxInactiveMs: 0, principal: 'lee' }, false), 'ok');
    assert.equal(await score('kim', id), undefined);
    assert.equal(await score('lee', id), now + 2 * HOUR);
    // A stale member (UNCOVER lost) of a live record that names another principal is no answer.
    await r.admin.call('ZADD', set('kim'), String(now + 5 * HOUR), id);
    assert.deepEqual(await s.sessionsOf('kim', 10), []);
    assert.deepEqual((await s.sessionsOf('lee', 10)).map((x) => x.id), [id]);
    // A write with a shorter end still raises the member's score strictly (so a racing UNCOVER cannot match it).
    const before = (await score('lee', id))!;
    assert.equal(await s.write(me, id, 2, { attrs: 'z', createdAtMs: now, lastAccessAtMs: now, expiresAtMs: now + 1000, maxInactiveMs: 0, principal: 'lee' }, false), 'ok');
    assert.equal(await score('lee', id), before + 1);
    assert.equal(await field(id, 'q'), String(before + 1));
    // A member re-added since the record's coverage (as a racing write's COVER does) is not removed by the destroy.
    await r.admin.call('ZADD', set('lee'), String(now + 3 * HOUR), id);
    assert.equal(await s.destroy(me, id, 3), 'ok');
    assert.equal(await score('lee', id), now + 3 * HOUR, 'UNCOVER removes only the score the record had');
    await r.admin.call('ZREM', set('lee'), id);
    // Destroy of an untouched member removes it.
    const id2 = 'CoverSessionBBBBBBBBBBBB';
    assert.equal(await s.create(me, id2, { attrs: 'x', createdAtMs: now, lastAccessAtMs: now, expiresAtMs: now + HOUR, maxInactiveMs: 0, principal: 'lee' }), true);
    assert.equal(await s.destroy(me, id2, 1), 'ok');
    assert.equal(await score('lee', id2), undefined);
    // A session that never expires makes its set persistent.
    const id3 = 'CoverSessionCCCCCCCCCCCC';
    assert.equal(await s.create(me, id3, { attrs: 'x', createdAtMs: now, lastAccessAtMs: now, expiresAtMs: 0, maxInactiveMs: 0, principal: 'mo' }), true);
    assert.equal(await score('mo', id3), NEVER);
    assert.equal(Number(await r.admin.call('PTTL', set('mo'))), -1);
    // Past members (their records expired): pruned in batches of 100 by each read or add.
    const past = Array.from({ length: 150 }, (_, i) => [String(now - 1000 - i), `Past${i}`]).flat();
    await r.admin.call('ZADD', set('mo'), ...past);
    assert.deepEqual((await s.sessionsOf('mo', 10)).map((x) => x.id), [id3]);
    assert.equal(Number(await r.admin.call('ZCARD', set('mo'))), 51);
    await s.sessionsOf('mo', 10);
    assert.equal(Number(await r.admin.call('ZCARD', set('mo'))), 1);
  });
});
