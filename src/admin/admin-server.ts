import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { AdminMetrics } from './admin-metrics.js';
import { resolveAdminOptions, type AdminServerOptionsInput } from './admin-options.js';
import { ADMIN_CSS, ADMIN_HTML } from './admin-page-html.js';
import { ADMIN_SCRIPT } from './admin-page-script.js';
import { AdminSampler } from './admin-sampler.js';
import { lookUpSession } from './session-lookup.js';
import { listStoreFiles } from './store-files.js';
import { runAction } from './admin-actions.js';
import { routeTransfer } from './admin-transfer.js';

/**
 * The admin port (SPEC S3): `/metrics` for Prometheus, and an admin page at `/` with its
 * JSON endpoints. Standalone, so an embedded application can start it beside its own
 * server, and `sessiond serve --admin-port` is one call to startAdminServer.
 *
 * Nothing it answers or logs carries an attribute value; session IDs appear only in the
 * look-up request the operator types, and are neither echoed nor logged.
 */

export interface AdminServer {
  readonly port: number;
  /** http://host:port/ */
  readonly url: string;
  /** Stops listening, the sampler and the delay monitors. Idempotent. */
  close(): Promise<void>;
}

interface Asset {
  type: string;
  body: () => Promise<string | Buffer>;
}

const require = createRequire(import.meta.url);
/** uPlot's files, resolved in the installed package: the page never needs the network. */
const uplotFile = (name: string) => (): Promise<Buffer> => readFile(require.resolve(`uplot/dist/${name}`));

const ASSETS: Readonly<Record<string, Asset>> = {
  '/': { type: 'text/html; charset=utf-8', body: () => Promise.resolve(ADMIN_HTML) },
  '/assets/admin.css': { type: 'text/css; charset=utf-8', body: () => Promise.resolve(ADMIN_CSS) },
  '/assets/admin.js': { type: 'text/javascript; charset=utf-8', body: () => Promise.resolve(ADMIN_SCRIPT) },
  '/assets/uPlot.iife.min.js': { type: 'text/javascript; charset=utf-8', body: uplotFile('uPlot.iife.min.js') },
  '/assets/uPlot.min.css': { type: 'text/css; charset=utf-8', body: uplotFile('uPlot.min.css') },
};

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export async function startAdminServer(input: AdminServerOptionsInput): Promise<AdminServer> {
  const o = resolveAdminOptions(input);
  const { engine, logger } = o;
  const metrics = new AdminMetrics(engine, o.extraMetrics);
  const sampler = new AdminSampler(engine, o.sampleIntervalMs, o.seriesPointsMax);

  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer): void => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const json = (res: ServerResponse, body: unknown): void => send(res, 200, 'application/json; charset=utf-8', JSON.stringify(body));

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    if (await routeTransfer(req, res, url.pathname, engine, o.host)) return;
    if (req.method === 'POST' && url.pathname.startsWith('/api/') && (url.pathname === '/api/revoke' || url.pathname === '/api/rekey')) {
      const r = await runAction(engine, url.pathname.slice(5), req);
      logger.info('admin_action', { action: url.pathname.slice(5), status: r.status });
      return send(res, r.status, 'application/json; charset=utf-8', JSON.stringify(r.body));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    const asset = ASSETS[url.pathname];
    if (asset !== undefined) return send(res, 200, asset.type, await asset.body());
    switch (url.pathname) {
      case '/metrics':
        return send(res, 200, metrics.contentType, await metrics.scrape());
      case '/api/stats':
        return json(res, { dir: engine.options.dir, sampleIntervalMs: o.sampleIntervalMs, engine: await engine.stats(), files: await listStoreFiles(engine) });
      case '/api/series':
        return json(res, sampler.series());
      case '/api/session':
        return json(res, await lookUpSession(engine, url.searchParams.get('id') ?? ''));
      default:
        return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  }

  const server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      // The path only: a look-up's query string holds a session ID.
      logger.error('admin_request_failed', { path: (req.url ?? '').split('?')[0], error: (e as Error)?.message ?? String(e) });
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((e: unknown) => {
    sampler.stop();
    metrics.stop();
    throw e;
  });
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = o.host.includes(':') ? `[${o.host}]` : o.host;
  logger.info('admin_listening', { host: o.host, port });

  let closing: Promise<void> | undefined;
  return {
    port,
    url: `http://${hostInUrl}:${port}/`,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        sampler.stop();
        metrics.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
