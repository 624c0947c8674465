/** Little-endian u64 fields as JS numbers (exact up to 2^53 - 1); see docs/format.md. */

const TWO_32 = 0x1_0000_0000;
/** The high word of 2^53 - 1. */
const U64_SAFE_HIGH_MAX = 0x1f_ffff;

export function writeU64(buf: Uint8Array, offset: number, value: number): void {
  const view = viewOf(buf);
  view.setUint32(offset, value % TWO_32, true);
  view.setUint32(offset + 4, Math.floor(value / TWO_32), true);
}

/** Reads a u64; returns -1 when it exceeds 2^53 - 1 (the caller treats that as a bad field). */
export function readU64(buf: Uint8Array, offset: number): number {
  const view = viewOf(buf);
  const high = view.getUint32(offset + 4, true);
  if (high > U64_SAFE_HIGH_MAX) return -1;
  return high * TWO_32 + view.getUint32(offset, true);
}

const views = new WeakMap<ArrayBufferLike, DataView>();

/** A DataView over the whole ArrayBuffer behind `buf`, offset-corrected by the callers below. */
function viewOf(buf: Uint8Array): DataView {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength) {
    let v = views.get(buf.buffer);
    if (v === undefined) {
      v = new DataView(buf.buffer);
      views.set(buf.buffer, v);
    }
    return v;
  }
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}
