// Sessions of a principal (SPEC B5): the index follows every save, patch, touch, destroy
// and expiry; it is rebuilt on recovery; destroyAllOf is atomic with respect to saves racing
// it. Unit tests and a scale test (10k principals with 1-20 sessions each) on the simulated
// file layer.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { isSessiondError } from '../../src/errors.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import type { EngineOptionsInput } from '../../src/options.js';
import { Prng } from '../../src/util/prng.js';

const T0 = 1_700_000_000_000;
const j = JSON.stringify;

function opts(fs: SimFileSystem, clock: ManualClock, extra: Partial<EngineOptionsInput> = {}): EngineOptionsInput {
  return { dir: '/p', fs, clock, owner: 't', principal: 'user', flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000, ...extra };
}

const idsOf = (e: SessionEngine, p: string): string[] => e.sessionsOf(p).map((s) => s.id).sort();

describe('principal index', () => {
  it('follows saves, patches, touches, destroys and expiry, and survives a restart', async () => {
    const fs = new SimFileSystem(1);
    const clock = new ManualClock(T0, { timers: true });
    const e = await SessionEngine.open(opts(fs, clock, { expiryIntervalMs: 100 }));
    await e.save('a1', { attributes: { user: j('alice') } });
    await e.save('a2', { attributes: { user: j('alice'), x: '1' } });
    await e.save('n1', { attributes: { x: '1' } });
    await e.save('short', { attributes: { user: j('alice') }, expiresAtMs: T0 + 50 });
    assert.deepEqual(idsOf(e, 'alice'), ['a1', 'a2', 'short']);
    await e.save('n1', { attributes: { user: j('bob') } }); // logs in
    await e.patch('a2', { set: { user: j('bob') } }); // changes hands
    await e.touch('a1', { expiresAtMs: T0 + 3_600_000 });
    assert.deepEqual(idsOf(e, 'alice'), ['a1', 'short']);
    assert.deepEqual(idsOf(e, 'bob'), ['a2', 'n1']);
    await e.patch('n1', { remove: ['user'] }); // logs out
    assert.deepEqual(idsOf(e, 'bob'), ['a2']);
    clock.advance(200); // 'short' expires and the reaper takes it
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(idsOf(e, 'alice'), ['a1']);
    await e.destroy('a1');
    assert.deepEqual(idsOf(e, 'alice'), []);
    await e.close();
    const again = await SessionEngine.open(opts(fs, clock, { principal: undefined }));
    assert.deepEqual(idsOf(again, 'alice'), []);
    assert.deepEqual(idsOf(again, 'bob'), ['a2'], 'the principal is stored: no option needed to find it');
    await again.close();
  });

  it('takes a function of the id and attributes, refuses a bad principal with a typed error, and a non-string argument', async () => {
    const fs = new SimFileSystem(2);
    const clock = new ManualClock(T0);
    const principal = (s: { id: string; attributes: ReadonlyMap<string, string> }): string | undefined => {
      const v = s.attributes.get('passport');
      return v === undefined ? undefined : (JSON.parse(v) as { user: string }).user;
    };
    const e = await SessionEngine.open(opts(fs, clock, { principal }));
    await e.save('s', { attributes: { passport: j({ user: 'carol' }) } });
    assert.deepEqual(idsOf(e, 'carol'), ['s']);
    for (const bad of ['x'.repeat(256), '\ud800']) {
      await assert.rejects(e.save('t', { attributes: { passport: j({ user: bad }) } }), (err: unknown) => isSessiondError(err, 'SESSIOND_INVALID_ARGUMENT'));
    }
    assert.equal(e.get('t'), undefined);
    assert.throws(() => e.sessionsOf(''), (err: unknown) => isSessiondError(err, 'SESSIOND_INVALID_ARGUMENT'));
    await assert.rejects(e.destroyAllOf(3 as unknown as string), (err: unknown) => isSessiondError(err, 'SESSIOND_INVALID_ARGUMENT'));
    await e.close();
  });

  it('destroyAllOf destroys every session of the principal but the excepted ones, and leaves the others', async () => {
    const fs = new SimFileSystem(3);
    const clock = new ManualClock(T0);
    const e = await SessionEngine.open(opts(fs, clock));
    for (const id of ['a1', 'a2', 'a3']) await e.save(id, { attributes: { user: j('alice') } });
    await e.save('b1', { attributes: { user: j('bob') } });
    assert.equal(await e.destroyAllOf('alice', { except: 'a2' }), 2);
    assert.deepEqual(idsOf(e, 'alice'), ['a2']);
    assert.deepEqual(idsOf(e, 'bob'), ['b1']);
    assert.ok(e.isDestroyed('a1') && e.isDestroyed('a3') && !e.isDestroyed('a2'));
    assert.equal(await e.destroyAllOf('alice', { except: [] }), 1);
    assert.equal(await e.destroyAllOf('nobody'), 0);
    await e.close();
  });

  it('revoke while the principal\'s requests are in flight: no racing save brings a session back, before or after a crash', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const prng = new Prng(seed);
      const fs0 = new SimFileSystem(seed);
      const clock = new ManualClock(T0);
      const e = await SessionEngine.open(opts(fs0, clock, { durability: prng.bool(0.5) ? 'fsync' : 'none' }));
      const ids = Array.from({ length: 8 }, (_, i) => `s${i}`);
      for (const id of ids.slice(0, 5)) await e.save(id, { attributes: { user: j('alice'), n: '0' } });
      const inFlight: Array<Promise<unknown>> = [];
      const known = new Set(ids.slice(0, 5));
      const saveSome = (n: number, before: boolean): void => {
        for (let i = 0; i < n; i++) {
          const id = prng.pick(ids);
          const save = prng.bool(0.7);
          if (before && save) known.add(id); // a patch of an absent session creates nothing
          const p = save ? e.save(id, { attributes: { user: j('alice'), n: String(prng.int(100)) } }) : e.patch(id, { set: { n: '1' } });
          inFlight.push(p.then(() => 'ok', (err: unknown) => (isSessiondError(err) ? err.code : String(err))));
        }
      };
      saveSome(1 + prng.int(10), true); // appended, not yet durable: their pending states are targets too
      const revoked = e.destroyAllOf('alice', { except: 's0' });
      saveSome(1 + prng.int(10), false); // after the revoke: refused (tombstones), except for s0 and IDs new since (a new login)
      // Every session that existed or was being saved when the revoke was called is gone, but s0.
      const mayLive = (id: string): boolean => id === 's0' || !known.has(id);
      const outcomes = (await Promise.all(inFlight)) as string[];
      await revoked;
      const alive = idsOf(e, 'alice');
      assert.ok(alive.every(mayLive), `seed ${seed}: ${alive.join(',')} survived the revoke (known: ${[...known].join(',')})`);
      assert.ok(outcomes.every((o) => o === 'ok' || o === 'SESSIOND_SESSION_DESTROYED' || o === 'SESSIOND_SESSION_NOT_FOUND'), `seed ${seed}: ${outcomes.join(',')}`);
      const fs = fs0.crash(seed, { mode: 'keep-all' });
      await e.close().catch(() => undefined);
      const again = await SessionEngine.open(opts(fs, clock));
      assert.deepEqual(idsOf(again, 'alice'), alive, `seed ${seed}: after a crash`);
      await again.close();
    }
  });

  it('10k principals with 1-20 sessions each: every principal finds exactly its sessions, before and after a restart and a revoke', { timeout: 300_000 }, async () => {
    const fs = new SimFileSystem(4);
    const clock = new ManualClock(T0);
    const o = opts(fs, clock, { durability: 'none', logSwapBytes: 64 << 20, writeQueueBytesMax: 256 << 20 });
    const e = await SessionEngine.open(o);
    const prng = new Prng(44);
    const want = new Map<string, string[]>();
    let pending: Array<Promise<unknown>> = [];
    for (let p = 0; p < 10_000; p++) {
      const principal = `user-${p}`;
      const n = 1 + prng.int(20);
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const id = `${p}.${i}`;
        ids.push(id);
        pending.push(e.save(id, { attributes: { user: j(principal) } }));
      }
      want.set(principal, ids.sort());
      if (pending.length >= 2000) {
        await Promise.all(pending);
        pending = [];
      }
    }
    await Promise.all(pending);
    const check = (engine: SessionEngine, label: string): void => {
      for (const [p, ids] of want) assert.deepEqual(idsOf(engine, p), ids, `${label}: ${p}`);
    };
    check(e, 'live');
    await e.close();
    const again = await SessionEngine.open(o);
    check(again, 'recovered');
    for (let p = 0; p < 10_000; p += 97) {
      const principal = `user-${p}`;
      const keep = want.get(principal)![0]!;
      await again.destroyAllOf(principal, { except: keep });
      want.set(principal, [keep]);
    }
    check(again, 'after revokes');
    await again.close();
    const third = await SessionEngine.open(o);
    check(third, 'after revokes and a restart');
    await third.close();
  });
});
