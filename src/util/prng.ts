/**
 * A small deterministic pseudo-random generator (xoshiro128**, seeded through splitmix32)
 * so every randomized test and every simulated crash replays from its seed.
 * Not for anything secret: use node:crypto for salts and ids.
 */

import { assert } from '../assert.js';

const TWO_POW_32 = 0x1_0000_0000;
const TWO_POW_53 = 2 ** 53;

export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** `seed` is any safe integer; both its low and high 32-bit halves matter. */
  constructor(seed: number) {
    assert(Number.isSafeInteger(seed), `Prng seed must be a safe integer, got ${seed}`);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / TWO_POW_32) >>> 0;
    // splitmix32 spreads the seed over the whole 128-bit state; a zero state would be stuck.
    let x = (lo ^ Math.imul(hi, 0x85ebca6b)) >>> 0;
    [this.s0, x] = splitmix32(x);
    [this.s1, x] = splitmix32(x);
    [this.s2, x] = splitmix32(x);
    [this.s3] = splitmix32(x);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A uniform integer in [0, 2^32). */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform float in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / TWO_POW_53;
  }

  /** A uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number {
    assert(
      Number.isSafeInteger(maxExclusive) && maxExclusive > 0,
      `Prng.int bound must be a positive safe integer, got ${maxExclusive}`,
    );
    if (maxExclusive > TWO_POW_32) return Math.floor(this.float() * maxExclusive);
    // Rejection sampling keeps small bounds unbiased.
    const limit = TWO_POW_32 - (TWO_POW_32 % maxExclusive);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % maxExclusive;
    }
  }

  /** true with probability `pTrue`. */
  bool(pTrue = 0.5): boolean {
    return this.float() < pTrue;
  }

  bytes(n: number): Uint8Array {
    assert(Number.isSafeInteger(n) && n >= 0, `Prng.bytes length must be a non-negative integer, got ${n}`);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      let x = this.nextU32();
      for (let j = i; j < Math.min(n, i + 4); j++) {
        out[j] = x & 0xff;
        x >>>= 8;
      }
    }
    return out;
  }

  pick<T>(a: readonly T[]): T {
    assert(a.length > 0, 'Prng.pick needs a non-empty array');
    return a[this.int(a.length)]!;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** One splitmix32 step: [output, next state]. */
function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) >>> 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return [(z ^ (z >>> 15)) >>> 0, next];
}
