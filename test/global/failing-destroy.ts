/**
 * Test support (the Redis logout tests): a global store whose next `destroy`, when asked,
 * fails with an outage before it reaches the backend, as a killed or paused master answers.
 */
import { SessiondError } from '../../src/errors.js';
import type { GlobalStore } from '../../src/global/global-store.js';

export function failingDestroy<S extends GlobalStore>(store: S): { store: S; failNextDestroy(): void } {
  let failNext = false;
  const p = new Proxy(store, {
    get(target, k, recv) {
      const v = Reflect.get(target, k, recv) as unknown;
      if (k === 'destroy' && failNext) {
        failNext = false;
        return () => Promise.reject(new SessiondError('SESSIOND_GLOBAL_UNAVAILABLE', 'master down', { backend: 'redis' }));
      }
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store: p, failNextDestroy: () => (failNext = true) };
}
