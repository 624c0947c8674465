/**
 * Little-endian field access on plain Uint8Arrays (docs/format.md: every integer is LE).
 * Plain byte arithmetic: no DataView per call, so encoders on the write path and the
 * scanner reading straight out of a chunk view do not allocate.
 */

const TWO_POW_32 = 0x1_0000_0000;
/** The high half of a u64 that is still at most 2^53 - 1. */
const U64_SAFE_HIGH_MAX = 0x1f_ffff;

export function readU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

/** A u64 field as a number, or -1 when it is above 2^53 - 1 (a bad field, format.md). */
export function readU64(b: Uint8Array, at: number): number {
  const high = readU32(b, at + 4);
  if (high > U64_SAFE_HIGH_MAX) return -1;
  return high * TWO_POW_32 + readU32(b, at);
}

export function writeU32(b: Uint8Array, at: number, value: number): void {
  b[at] = value & 0xff;
  b[at + 1] = (value >>> 8) & 0xff;
  b[at + 2] = (value >>> 16) & 0xff;
  b[at + 3] = (value >>> 24) & 0xff;
}

/** `value` must be a safe non-negative integer (callers check it). */
export function writeU64(b: Uint8Array, at: number, value: number): void {
  writeU32(b, at, value >>> 0);
  writeU32(b, at + 4, Math.floor(value / TWO_POW_32));
}
