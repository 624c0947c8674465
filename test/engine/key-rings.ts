/**
 * Test support (the encryption tests): two random 32-byte keys, fresh each run, and the key
 * rings of a rotation from k1 to k2: k1 alone, both with k2 current, k2 alone.
 */
import { randomBytes } from 'node:crypto';

export const K1 = randomBytes(32);
export const K2 = randomBytes(32);
export const ONLY_K1 = { keys: { k1: K1 }, current: 'k1' };
export const K1_K2 = { keys: { k1: K1, k2: K2 }, current: 'k2' };
export const ONLY_K2 = { keys: { k2: K2 }, current: 'k2' };
