/**
 * CRC-32 is affine in its seed (crc(d, s) = M·s xor crc(d, 0), M invertible), so the seed
 * that makes a checksummed block valid can be solved for. Salvage uses it to recover a
 * salt from the blocks it seeded (database images, log records).
 */

import { crc32 } from 'node:zlib';

/** The seed s with crc32(data, s) === crc, by Gaussian elimination over GF(2). */
export function solveSeed(data: Uint8Array, crc: number): number | undefined {
  const base = crc32(data, 0);
  // Row i of the system: column i of M (the effect of seed bit i), augmented with the seed bit.
  const cols: number[] = [];
  const seeds: number[] = [];
  for (let bit = 0; bit < 32; bit++) {
    cols.push((crc32(data, 2 ** bit) ^ base) >>> 0);
    seeds.push(2 ** bit);
  }
  // Reduce to one column per pivot bit; the combination of seeds that yields `target` is the answer.
  let target = (crc ^ base) >>> 0;
  let seed = 0;
  for (let bit = 31; bit >= 0; bit--) {
    const mask = 2 ** bit;
    const p = cols.findIndex((c, k) => k >= 31 - bit && (c & mask) !== 0);
    if (p < 0) return undefined;
    const row = 31 - bit;
    [cols[row], cols[p]] = [cols[p]!, cols[row]!];
    [seeds[row], seeds[p]] = [seeds[p]!, seeds[row]!];
    for (let k = 0; k < 32; k++) {
      if (k !== row && (cols[k]! & mask) !== 0) {
        cols[k] = (cols[k]! ^ cols[row]!) >>> 0;
        seeds[k] = (seeds[k]! ^ seeds[row]!) >>> 0;
      }
    }
  }
  for (let bit = 31; bit >= 0; bit--) {
    if ((target & 2 ** bit) !== 0) {
      const row = 31 - bit;
      target = (target ^ cols[row]!) >>> 0;
      seed = (seed ^ seeds[row]!) >>> 0;
    }
  }
  return target === 0 && crc32(data, seed) === crc ? seed : undefined;
}
