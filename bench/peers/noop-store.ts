import session from 'express-session';
import type { SessionData } from 'express-session';
import type { Peer, PeerContext } from './peer.js';

type Callback = (err?: unknown) => void;

/** A Map and nothing else: no serialization, no copy, no disk. The ceiling express allows. */
export class NoopStore extends session.Store {
  private readonly sessions = new Map<string, SessionData>();

  override get(sid: string, cb: (err: unknown, session?: SessionData | null) => void): void {
    cb(null, this.sessions.get(sid) ?? null);
  }

  override set(sid: string, sess: SessionData, cb?: Callback): void {
    this.sessions.set(sid, sess);
    cb?.();
  }

  override touch(_sid: string, _sess: SessionData, cb?: Callback): void {
    cb?.();
  }

  override destroy(sid: string, cb?: Callback): void {
    this.sessions.delete(sid);
    cb?.();
  }
}

export async function createNoopPeer(_ctx: PeerContext): Promise<Peer> {
  return {
    name: 'no-op Map',
    durability: 'none: process memory, no serialization',
    versions: {},
    store: new NoopStore(),
    close: async () => {},
  };
}
