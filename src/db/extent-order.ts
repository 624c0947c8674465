/**
 * The order of a batch's extents by start block, without an object per extent: the
 * flusher's images, the extents they replace and the read-back walk the file in this order
 * to merge extents that touch into one I/O. A batch is usually allocated in ascending order
 * already (first fit, side by side): then no sort runs.
 */
export function orderByStart(starts: ArrayLike<number>, count: number = starts.length): Uint32Array {
  const order = new Uint32Array(count);
  let sorted = true;
  for (let k = 0; k < count; k++) {
    order[k] = k;
    if (k > 0 && starts[k]! < starts[k - 1]!) sorted = false;
  }
  if (!sorted) order.sort((a, b) => starts[a]! - starts[b]!);
  return order;
}
