/**
 * `f()` called now, its result or its synchronous throw as a promise. For paths that avoid an
 * async function's extra promise layer (every request's turn takes one) yet must turn a throw
 * into a rejection like one. A promise `f` returns is passed on as it is (Promise.resolve).
 */
export function callNow<T>(f: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (e) {
    return Promise.reject(e);
  }
}
