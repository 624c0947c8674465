/** A broken invariant: a programmer error. Thrown, never caught. */
export class AssertionError extends Error {
  constructor(message: string) {
    super(`sessiond invariant broken: ${message}`);
    this.name = 'AssertionError';
  }
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
