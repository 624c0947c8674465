// The three framework stores behind one promise interface, so a contract test can run the
// same case against each (STYLE 8: the same contract tests run against every backend).
import { SessiondStore } from '../../src/adapters/express.js';
import { SessiondFastifyStore } from '../../src/adapters/fastify.js';
import { sessiondKoaStore } from '../../src/adapters/koa.js';
import type { SessionEngine } from '../../src/engine/session-engine.js';
import type { EngineSource } from '../../src/adapters/engine-handle.js';
import type session from 'express-session';

export type StoreKind = 'express' | 'fastify' | 'koa';
export const STORE_KINDS: readonly StoreKind[] = ['express', 'fastify', 'koa'];

export interface StoreUnderTest {
  kind: StoreKind;
  /** Resolves the callback's value (`cb(null, v)`), rejects with its error. */
  get(id: string): Promise<unknown>;
  /** koa: `maxAge` as koa-session passes it. */
  set(id: string, sess: object, maxAge?: number | 'session'): Promise<void>;
  destroy(id: string): Promise<void>;
  engine(): Promise<SessionEngine>;
  close(): Promise<void>;
}

function cb<T>(f: (done: (err: unknown, v?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v))));
}

export function openStore(kind: StoreKind, source: EngineSource): StoreUnderTest {
  if (kind === 'express') {
    const s = new SessiondStore(source);
    return {
      kind,
      get: (id) => cb((done) => s.get(id, done)),
      set: (id, sess) => cb<void>((done) => s.set(id, sess as session.SessionData, done)).then(() => undefined),
      destroy: (id) => cb<void>((done) => s.destroy(id, done)).then(() => undefined),
      engine: () => s.engine(),
      close: () => s.close(),
    };
  }
  if (kind === 'fastify') {
    const s = new SessiondFastifyStore(source);
    return {
      kind,
      get: (id) => cb((done) => s.get(id, done)),
      set: (id, sess) => cb<void>((done) => s.set(id, sess, done)).then(() => undefined),
      destroy: (id) => cb<void>((done) => s.destroy(id, done)).then(() => undefined),
      engine: () => s.engine(),
      close: () => s.close(),
    };
  }
  const s = sessiondKoaStore(source);
  return {
    kind,
    get: (id) => s.get(id),
    set: (id, sess, maxAge) => s.set(id, sess as Record<string, unknown>, maxAge),
    destroy: (id) => s.destroy(id),
    engine: () => s.engine(),
    close: () => s.close(),
  };
}

/** The same text JSON.stringify gives: deep equality that also sees key order. */
export function sameJson(actual: unknown, expected: unknown): boolean {
  return JSON.stringify(actual) === JSON.stringify(expected);
}
