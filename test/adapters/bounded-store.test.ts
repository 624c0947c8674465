// The framework stores under cacheBytesMax (contract, simulated file system): a session the
// cache evicted is read back by the store's `get` (EngineHandle.load uses engine.read), never
// answered as absent.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { STORE_KINDS, openStore, sameJson } from './store-kinds.js';

const T0 = Date.UTC(2026, 0, 1);
const N = 30;

for (const kind of STORE_KINDS) {
  it(`${kind}: sessions evicted by cacheBytesMax read back through the store`, async (t) => {
    const clock = new ManualClock(T0);
    const store = openStore(kind, { dir: '/b', fs: new SimFileSystem(3), clock, flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000, cacheBytesMax: 1 });
    t.after(() => store.close());
    const engine = await store.engine();
    const expires = new Date(T0 + 3_600_000);
    const sessionOf = (i: number): Record<string, unknown> =>
      kind === 'koa' ? { n: i, pad: 'p'.repeat(200), _expire: T0 + 3_600_000, _maxAge: 3_600_000 } : { cookie: { originalMaxAge: 3_600_000, expires, httpOnly: true, path: '/' }, n: i, pad: 'p'.repeat(200) };
    for (let i = 0; i < N; i++) await store.set(`bounded-${i}`, sessionOf(i));
    await engine.flush();
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    assert.ok((await engine.stats()).cache.cold >= N - 1, 'the sessions left the cache');
    for (let i = 0; i < N; i++) {
      const got = (await store.get(`bounded-${i}`)) as Record<string, unknown> | undefined;
      assert.ok(got !== undefined && got !== null, `session ${i} answered as absent`);
      assert.equal(got.n, i);
      assert.ok(sameJson(got.pad, 'p'.repeat(200)));
    }
  });
}
