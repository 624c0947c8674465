import type { PrincipalOption } from '../options.js';

/**
 * `sessiond serve --principal PATH` (docs/server.md): the principal of a stored value that
 * is JSON (what connect-redis and other session stores write), found at a dotted path in
 * it (`userId`, `passport.user`). A string or a number there is the principal; a value that
 * is not JSON, or has nothing at the path, has none.
 */
export function valuePrincipal(path: string): PrincipalOption {
  const steps = path.split('.');
  return ({ attributes }) => {
    const v = attributes.get('v');
    if (v === undefined) return undefined;
    let node: unknown;
    try {
      node = JSON.parse(JSON.parse(v) as string) as unknown;
    } catch {
      return undefined;
    }
    for (const step of steps) {
      if (typeof node !== 'object' || node === null || !Object.hasOwn(node, step)) return undefined;
      node = (node as Record<string, unknown>)[step];
    }
    return typeof node === 'string' ? node : typeof node === 'number' ? String(node) : undefined;
  };
}
