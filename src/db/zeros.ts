import { DB_BLOCK_BYTES } from '../format/constants.js';

/**
 * Zeros for image padding, freed markers and the scrub, shared by every write as views
 * (never written to): a flush of 14,000 sessions would otherwise allocate ~100 MB of
 * zeroed buffers for its pads and markers. The bytes on disk are the same.
 */
const ZERO_CHUNK_BYTES = 128 * DB_BLOCK_BYTES;
const ZEROS = new Uint8Array(ZERO_CHUNK_BYTES);

/** `bytes` zero bytes as iovecs: views of the shared zeros, pushed onto `out`. */
export function pushZeros(out: Uint8Array[], bytes: number): Uint8Array[] {
  for (let left = bytes; left > 0; left -= ZERO_CHUNK_BYTES) out.push(ZEROS.subarray(0, Math.min(left, ZERO_CHUNK_BYTES)));
  return out;
}
