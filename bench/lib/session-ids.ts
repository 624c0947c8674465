import { Prng } from '../../src/util/prng.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** `count` distinct 32-character URL-safe IDs (the shape express-session's uid-safe makes), from a seed. */
export function sessionIds(count: number, seed: number): string[] {
  const prng = new Prng(seed);
  const seen = new Set<string>();
  const ids: string[] = [];
  while (ids.length < count) {
    const id = randomSessionId(prng);
    if (seen.has(id)) continue;
    seen.add(id);
    ids.push(id);
  }
  return ids;
}

/** One 32-character URL-safe ID (192 bits from the seeded generator). */
export function randomSessionId(prng: Prng): string {
  let id = '';
  for (let i = 0; i < 32; i++) id += ALPHABET[prng.int(64)];
  return id;
}
