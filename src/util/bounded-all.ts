/**
 * Runs `task(0) .. task(count - 1)` with at most `window` of them in flight, started in
 * index order. Resolves once all have; on a failure no further task starts, the ones in
 * flight are waited for (nothing is left running behind the caller's back), and the first
 * failure (in completion order) is thrown.
 */
export async function boundedAll(count: number, window: number, task: (k: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < count) {
      const k = next++;
      try {
        await task(k);
      } catch (e) {
        failure ??= { error: e };
      }
    }
  };
  const lanes: Array<Promise<void>> = [];
  for (let i = 0; i < Math.min(window, count); i++) lanes.push(lane());
  await Promise.all(lanes);
  if (failure !== undefined) throw failure.error;
}
