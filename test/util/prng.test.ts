// Unit tests of the seeded generator every crash test draws from (src/util/prng.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../src/util/prng.js';

describe('Prng (unit)', () => {
  it('replays from its seed and differs between seeds, including in the high 32 bits', () => {
    const draw = (seed: number): number[] => {
      const r = new Prng(seed);
      return Array.from({ length: 8 }, () => r.nextU32());
    };
    assert.deepEqual(draw(42), draw(42));
    assert.notDeepEqual(draw(42), draw(43));
    assert.notDeepEqual(draw(7), draw(7 + 2 ** 40));
  });

  it('keeps int, float, bytes and pick in range', () => {
    const r = new Prng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const x = r.int(7);
      assert.ok(Number.isInteger(x) && x >= 0 && x < 7);
      seen.add(x);
      const f = r.float();
      assert.ok(f >= 0 && f < 1);
    }
    assert.equal(seen.size, 7);
    assert.equal(r.bytes(13).length, 13);
    assert.ok(['a', 'b'].includes(r.pick(['a', 'b'])));
    assert.equal(r.bool(0), false);
    assert.equal(r.bool(1), true);
  });
});
