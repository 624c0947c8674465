import { callNow } from '../util/call-now.js';

/**
 * Runs the tasks of one key one after another, in call order; different keys never wait
 * for each other. Used to keep the global statements of one session in the order this
 * server issues them (a turn's release after the request's last write).
 *
 * A task of a key with nothing pending starts at once, within `run` (every request's turn,
 * read and release take this path: no extra promise nor microtask hop); otherwise after
 * the key's last task settles. One promise per task tracks the key's tail.
 */
export class KeyedChain {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, fn: () => T | Promise<T>): Promise<T> {
    const prev = this.tails.get(key);
    const p = prev === undefined ? callNow(fn) : prev.then(fn);
    const settled = (): void => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
    // The tail never rejects (the next task runs after a failed one too), and leaves the map once the key is idle.
    const tail: Promise<void> = p.then(settled, settled);
    this.tails.set(key, tail);
    return p;
  }

  /** Whether a task of `key` has not settled yet (a task run now would wait for it). */
  pending(key: string): boolean {
    return this.tails.has(key);
  }

  /** Resolves once every task queued so far has settled. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}
