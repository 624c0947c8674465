import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RequestHandler } from 'express';
import type { Store } from 'express-session';
import { existsSync, readFileSync } from 'node:fs';
import { REPO_ROOT } from '../lib/package-version.js';
import type { Peer, PeerContext, SessiondOptions } from './peer.js';

export type SessiondDurability = 'fsync' | 'interval' | 'none';

/** The part of sessiond's express adapter the bench uses, described here so the bench builds without it. */
type SessiondStoreClass = new (options: { dir: string; durability: SessiondDurability } & SessiondOptions) => Store & {
  /** resolves once the engine is open and recovered */
  engine(): Promise<unknown>;
  close(): Promise<void>;
};

/** express-session's secret in the HTTP bench (the serializer needs it to read the signed cookie). */
export const HTTP_SECRET = 'bench-secret-not-for-production';

const ADAPTER_JS = join(REPO_ROOT, 'dist/src/adapters/express.js');

/** The version in package.json (the bench runs the working tree, not a release). */
function sessiondVersion(): string {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  return `${pkg.version} (working tree)`;
}

/**
 * What sessiond's docs add to an express app beside the store: the middleware that runs the
 * requests of one session one after another (SPEC E8) and the store's ID generator.
 */
export async function sessiondExpressExtras(store: Store): Promise<{ serialize: RequestHandler; genid: () => string }> {
  const mod = (await import(pathToFileURL(ADAPTER_JS).href)) as { sessiondSerialize: (store: Store, opts: { name: string; secret: string }) => RequestHandler };
  const s = store as Store & { generateId(): string };
  return { serialize: mod.sessiondSerialize(store, { name: 'connect.sid', secret: HTTP_SECRET }), genid: () => s.generateId() };
}

/** True once sessiond's express adapter has been built. */
export function sessiondAvailable(): boolean {
  return existsSync(ADAPTER_JS);
}

const DURABILITY_TEXT: Record<SessiondDurability, string> = {
  fsync: 'log fdatasync per group commit before any write is acknowledged: survives power loss',
  interval: 'log fdatasync every 100 ms (fsyncIntervalMs): survives a process crash, loses up to 100 ms on power loss',
  none: 'log write() before acknowledging, no fsync: survives a process crash, not an OS crash or power loss',
};

/** sessiond's express-session Store on its own directory, at one durability level. */
export function sessiondPeer(durability: SessiondDurability): (ctx: PeerContext) => Promise<Peer> {
  return async (ctx) => {
    const mod = (await import(pathToFileURL(ADAPTER_JS).href)) as { SessiondStore: SessiondStoreClass };
    const store = new mod.SessiondStore({ ...ctx.sessiondOptions, dir: join(ctx.dir, 'sessiond'), durability });
    await store.engine();
    return {
      name: `sessiond ${durability}`,
      durability: DURABILITY_TEXT[durability],
      versions: { sessiond: sessiondVersion() },
      store,
      close: () => store.close(),
    };
  };
}
