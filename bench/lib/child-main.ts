/**
 * The child side of BenchChild: reads the payload from argv, runs `main`, sends its result
 * as a 'result' message (or an 'error'), and exits, so no store timer keeps it alive.
 */
export function childMain<P, R>(main: (payload: P, send: (m: { type: string; [k: string]: unknown }) => void) => Promise<R>): void {
  const send = (m: { type: string; [k: string]: unknown }): void => {
    process.send?.(m);
  };
  const payload = JSON.parse(process.argv[2] ?? '{}') as P;
  main(payload, send).then(
    (result) => {
      process.send?.({ type: 'result', result }, () => process.exit(0));
    },
    (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      process.send?.({ type: 'error', message: err.message, stack: err.stack }, () => process.exit(1));
    },
  );
}

/** The next message of `type` from the parent. */
export function nextParentMessage(type: string): Promise<{ type: string; [k: string]: unknown }> {
  return new Promise((resolve) => {
    const onMessage = (m: { type: string; [k: string]: unknown }): void => {
      if (m.type !== type) return;
      process.off('message', onMessage);
      resolve(m);
    };
    process.on('message', onMessage);
  });
}
