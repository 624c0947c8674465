/**
 * The Lua the turn's scripts share, and what the turn script leaves behind (kind: integration,
 * the machine's Redis, own key prefix): the clock helper is Redis TIME in ms, "live" is the
 * record's end strictly after now, a script carries only the helpers it names, and a turn that
 * moves the owner deletes a hand-over mark left for the previous holder (read with the turn's
 * fields, deleted only when there is one: docs/benchmarks.md §Through mode on Redis:
 * redis-server's CPU per request).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HELD_TURN, script } from '../../src/global/redis/redis-context.js';
import { withRedisPrefix } from './redis-harness.js';

const evalSrc = (admin: { call(...a: Array<string | number>): Promise<unknown> }, body: string): Promise<unknown> => admin.call('EVAL', script(body).src, 0);

test('now_ms() is Redis TIME in whole milliseconds', async (t) => {
  await withRedisPrefix(t, async (r) => {
    for (let i = 0; i < 20; i++) {
      // A Lua number is answered as an integer (truncated): whether it is whole is asked in Lua.
      const [n, s, us, whole] = (await evalSrc(r.admin, `local n = now_ms()\nlocal t = redis.call('TIME')\nreturn {n, t[1], t[2], n % 1 == 0 and 1 or 0}`)) as [number, string, string, number];
      const ms = Number(s) * 1000 + Math.floor(Number(us) / 1000);
      assert.ok(n <= ms && ms - n <= 1, `now_ms ${n} against TIME ${ms} read just after`);
      assert.equal(whole, 1, 'a whole number of ms');
    }
  });
});

test("live(u, now): a record without an end ('0') or ending after now", async (t) => {
  await withRedisPrefix(t, async (r) => {
    const at = (u: string, now: number): string => `(live('${u}', ${now}) and 1 or 0)`;
    const got = await evalSrc(r.admin, `return {${at('0', 1764700000000)}, ${at('1764700000001', 1764700000000)}, ${at('1764700000000', 1764700000000)}, ${at('1764699999999', 1764700000000)}}`);
    assert.deepEqual(got, [1, 1, 0, 0]);
  });
});

test('a script carries only the helpers it names', () => {
  assert.doesNotMatch(script('return 1').src, /now_ms|fmt|live|HELD/);
  const clock = script('return now_ms()').src;
  assert.match(clock, /local function now_ms/);
  assert.doesNotMatch(clock, /local function (fmt|live)|local HELD/);
  assert.match(script("return {fmt(1), live('0', 1), HELD}").src, /local function fmt[\s\S]*local function live[\s\S]*local HELD/);
});

test("a turn that moves the owner deletes the hand-over mark asked of the previous holder; the holder's own turn leaves none", async (t) => {
  await withRedisPrefix(t, async (r) => {
    const [a, b] = [await r.store({ app: 'mark' }), await r.store({ app: 'mark' })];
    await a.migrate();
    const la = await a.acquireLease('srv-mark-a', 60_000);
    const lb = await b.acquireLease('srv-mark-b', 60_000);
    const id = 'HandoverMarkSessionxxxxxxxx';
    const w = { attrs: 'x', createdAtMs: 1, lastAccessAtMs: 1, expiresAtMs: Date.now() + 60_000, maxInactiveMs: 0 };
    assert.equal(await a.create(la, id, w, true), true, 'a holds the turn for good (back mode)');
    await b.requestHandover(lb, id);
    const [key] = await r.keys(`*${id}*`);
    assert.notEqual(await r.admin.call('HGET', key!, 'h'), null, 'b asked a to hand over');
    await a.releaseLease(la); // a is gone: its turn is b's to take, the mark with it
    assert.ok((await b.takeTurn(lb, id, 60_000, 1, true))?.record !== undefined, 'b takes the turn of the dead holder');
    assert.equal(await r.admin.call('HGET', key!, 'h'), null, 'the mark asked of a is gone with a');
    assert.deepEqual(await b.handoverRequests(lb, 10), [], 'b is asked for nothing');
    assert.ok((await b.takeTurn(lb, id, 60_000, 1, true))?.record !== undefined, "b's own turn again");
    assert.equal(await r.admin.call('HGET', key!, 'h'), null);
  });
});

test("a through turn's touch that moves nothing, from an epoch a restart superseded, is fenced and leaves the newer epoch's turn held", async (t) => {
  await withRedisPrefix(t, async (r) => {
    const [old, next] = [await r.store({ app: 'give-epoch' }), await r.store({ app: 'give-epoch' })];
    await old.migrate();
    const e1 = await old.acquireLease('srv-give', 60_000);
    const id = 'GiveBackEpochSessionxxxxxxx';
    const w = { attrs: 'x', createdAtMs: 1, lastAccessAtMs: 1, expiresAtMs: Date.now() + 60_000, maxInactiveMs: 0 };
    assert.equal(await old.create(e1, id, w), true);
    assert.ok((await old.takeTurn(e1, id, 60_000, 1))?.record !== undefined, 'the first process takes a turn for one request');
    const e2 = await next.acquireLease('srv-give', 60_000); // a restart under the same server ID while the old process still runs
    assert.ok((await next.takeTurn(e2, id, 60_000, 0))?.record !== undefined, 'the newer epoch takes the turn');
    // The old process's touch moves nothing (the times its turn read): the light give-back script, fenced by the epoch.
    assert.equal(await old.touch(e1, id, 1, undefined, true, 60_000), 'fenced');
    const [key] = await r.keys(`*${id}*`);
    assert.notEqual(await r.admin.call('HGET', key!, 't'), '0', "the newer epoch's turn is still held");
  });
});

test('a turn taken with hold (back mode) is held for good; one for a request ends turnMs after it is taken', async (t) => {
  await withRedisPrefix(t, async (r) => {
    const s = await r.store({ app: 'hold' });
    await s.migrate();
    const me = await s.acquireLease('srv-hold', 60_000);
    const w = { attrs: 'x', createdAtMs: 1, lastAccessAtMs: 1, expiresAtMs: Date.now() + 60_000, maxInactiveMs: 0 };
    for (const [id, hold] of [['HoldTurnSessionxxxxxxxxxxxx', true], ['RequestTurnSessionxxxxxxxxx', false]] as const) {
      assert.equal(await s.create(me, id, w), true);
      const [time] = (await r.admin.call('TIME')) as [string];
      assert.ok((await s.takeTurn(me, id, 30_000, 1, hold))?.record !== undefined);
      const [key] = await r.keys(`*${id}*`);
      const turn = (await r.admin.call('HGET', key!, 't')) as string;
      if (hold) assert.equal(turn, HELD_TURN);
      else assert.ok(Number(turn) >= Number(time) * 1000 + 30_000 && Number(turn) < Number(time) * 1000 + 32_000, `turn ends at ${turn}`);
    }
  });
});
