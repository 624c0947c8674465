import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import express from 'express';
import session from 'express-session';
import { childMain, nextParentMessage } from './lib/child-main.js';
import { watchLoopDelay, type LoopDelaySummary } from './lib/loop-delay.js';
import { processCpuMs } from './lib/process-cpu.js';
import { processRss, rssPeakBytes } from './lib/rss.js';
import { SESSION_MAX_AGE_MS, sessionBody } from './lib/session-data.js';
import { peerFactory } from './peers/peer-registry.js';
import type { SessiondOptions } from './peers/peer.js';
import { HTTP_SECRET, sessiondExpressExtras } from './peers/sessiond-peer.js';

export interface HttpServerPayload {
  peer: string;
  dir: string;
  sessiondOptions: SessiondOptions;
  seed: number;
  /** mount sessiondSerialize before express-session, as sessiond's docs say (sessiond stores only) */
  sessiondSerialize: boolean;
  /** experiment: answer touch() at once without writing (the ceiling of a touch throttle); off in the bench */
  skipTouch?: boolean;
}

export interface HttpServerResult {
  name: string;
  durability: string;
  versions: Record<string, string>;
  rssPeakBytes: number;
  /** CPU time of the server process (all its threads) from listening to stop */
  cpuUserMs: number;
  cpuSystemMs: number;
  /** the server's event-loop delay from listening to stop */
  loopDelay: LoopDelaySummary;
  serverRssPeakBytes?: number;
  /** CPU time of the peer's own server process (redis-server, sessiond serve) over the same span */
  storeServerCpuMs?: number;
}

/** The bench's field on the session (typed here, not by augmenting SessionData for the whole build). */
type CounterSession = { counter?: number };

/**
 * The HTTP child: express 5 + express-session on the store, listening on 127.0.0.1 only.
 * POST /login makes a ~1 KiB session, GET /counter reads it, POST /increment changes it.
 */
childMain<HttpServerPayload, HttpServerResult>(async (p, send) => {
  mkdirSync(p.dir, { recursive: true });
  const peer = await peerFactory(p.peer)({ dir: p.dir, sessiondOptions: p.sessiondOptions });
  if (p.skipTouch === true) peer.store.touch = (_sid, _sess, cb) => cb?.();
  const app = express();
  app.disable('x-powered-by');
  const extras = peer.name.startsWith('sessiond') ? await sessiondExpressExtras(peer.store) : undefined;
  if (extras !== undefined && p.sessiondSerialize) app.use(extras.serialize);
  app.use(
    session({
      store: peer.store,
      secret: HTTP_SECRET,
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: SESSION_MAX_AGE_MS, httpOnly: true, sameSite: 'lax' },
      ...(extras !== undefined ? { genid: extras.genid } : {}),
    }),
  );
  let logins = 0;
  app.post('/login', (req, res) => {
    Object.assign(req.session, sessionBody(p.seed, logins++));
    (req.session as unknown as CounterSession).counter = 0;
    res.json({ counter: 0 });
  });
  app.get('/counter', (req, res) => {
    res.json({ counter: (req.session as unknown as CounterSession).counter ?? null });
  });
  app.post('/increment', (req, res) => {
    const s = req.session as unknown as CounterSession;
    if (s.counter === undefined) {
      res.status(404).json({ error: 'no session' });
      return;
    }
    s.counter += 1;
    res.json({ counter: s.counter });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const cpu0 = process.cpuUsage();
  const loopDelay = watchLoopDelay();
  const storeCpu0 = peer.serverPid === undefined ? undefined : processCpuMs(peer.serverPid);
  send({ type: 'listening', port: (server.address() as AddressInfo).port });
  await nextParentMessage('stop');
  const cpu = process.cpuUsage(cpu0);
  const delay = loopDelay();
  const storeCpu1 = peer.serverPid === undefined ? undefined : processCpuMs(peer.serverPid);
  const storeServerCpuMs = storeCpu0 !== undefined && storeCpu1 !== undefined ? storeCpu1.userMs + storeCpu1.systemMs - storeCpu0.userMs - storeCpu0.systemMs : undefined;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const serverRss = peer.serverPid === undefined ? undefined : processRss(peer.serverPid);
  await peer.close();
  return {
    name: peer.name,
    durability: peer.durability,
    versions: peer.versions,
    rssPeakBytes: rssPeakBytes(),
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    loopDelay: delay,
    ...(serverRss !== undefined ? { serverRssPeakBytes: serverRss.peakBytes } : {}),
    ...(storeServerCpuMs !== undefined ? { storeServerCpuMs } : {}),
  };
});
