import { DB_BLOCK_BYTES } from '../format/constants.js';

/**
 * Zeros for the scrub, shared by every write as views (never written to): a step would
 * otherwise allocate a zeroed buffer as big as what it zeroes. (A flush encodes its images'
 * padding and its markers' zeros into its write buffers: db-state.ts writeEncoded.)
 */
const ZERO_CHUNK_BYTES = 128 * DB_BLOCK_BYTES;
const ZEROS = new Uint8Array(ZERO_CHUNK_BYTES);

/** `bytes` zero bytes as iovecs: views of the shared zeros, pushed onto `out`. */
export function pushZeros(out: Uint8Array[], bytes: number): Uint8Array[] {
  for (let left = bytes; left > 0; left -= ZERO_CHUNK_BYTES) out.push(ZEROS.subarray(0, Math.min(left, ZERO_CHUNK_BYTES)));
  return out;
}
