// A read's response in one socket write (kind: integration, express-session's real request
// cycle over a real socket): express-session ends a response that only touches the session
// with store.touch(), then all but the last byte, then the last byte in touch's callback.
// The store appends the touch and calls back on a process.nextTick queued before the one
// that uncorks the socket, so the whole response leaves in one write instead of two
// (docs/benchmarks.md "Back mode's common request with no promise, and GETs in one socket write").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import express from 'express';
import request from 'supertest';
import { SessiondStore } from '../../src/adapters/express.js';
import { createTestApp } from './express-app.js';
import { removeDir, tempDir, HANG_GUARD } from './adapter-fixtures.js';

type Writer = { _write: (...a: unknown[]) => unknown; _writev?: (...a: unknown[]) => unknown };

test('a request that only reads (and touches) its session is answered in one socket write; a save still waits between its two', HANG_GUARD, async () => {
  const dir = tempDir('read-one-write');
  const store = new SessiondStore({ dir });
  const writes: number[] = [];
  const outer = express();
  // Counts the socket writes of each response (a corked socket flushes its chunks in one _writev).
  outer.use((req, res, next) => {
    const s = req.socket as Socket & Writer;
    let n = 0;
    const w = s._write;
    const wv = s._writev;
    s._write = (...a: unknown[]) => (n++, w.apply(s, a));
    if (wv !== undefined) s._writev = (...a: unknown[]) => (n++, wv.apply(s, a));
    res.on('finish', () => {
      // The socket's own methods are its prototype's: removing the wrappers restores them.
      delete (s as Partial<Writer>)._write;
      delete (s as Partial<Writer>)._writev;
      writes.push(n);
    });
    next();
  });
  outer.use(createTestApp({ store, serialize: store, cookieMaxAgeMs: 60_000 }));
  try {
    await store.engine();
    const agent = request.agent(outer);
    await agent.post('/login').expect(200);
    writes.length = 0;
    for (let i = 0; i < 3; i++) await agent.get('/state').expect(200);
    assert.deepEqual(writes, [1, 1, 1], 'read-only requests: one write each');
    writes.length = 0;
    await agent.post('/increment').expect(200);
    assert.deepEqual(writes, [2], 'a save: all but the last byte, then the rest once durable');
  } finally {
    await store.close();
    removeDir(dir);
  }
});
