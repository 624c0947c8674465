import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SessionEngine } from '../engine/session-engine.js';
import { isSessiondError } from '../errors.js';
import { engineSessions, exportChunks } from '../transfer/export-sessions.js';
import { importSessions } from '../transfer/import-sessions.js';

/**
 * The admin port's export and import (docs/operations.md "Export and import"), the way
 * `sessiond export|import --admin-url` reaches a store that `sessiond serve` holds open:
 * - GET /admin/export: the live sessions as export lines (docs/format.md §7), streamed.
 * - POST /admin/import: a body of export lines, spooled to a temporary file (the import
 *   reads it twice: check, then apply), answered with the import's summary as JSON.
 *
 * Unlike the rest of the admin port these carry attribute values, so they answer only on
 * an admin port bound to loopback, only to a Host header naming a loopback address (a DNS
 * rebinding page names its own host), and the import only with `content-type:
 * application/x-ndjson`, which a cross-origin page cannot send without a preflight that
 * this server never grants.
 */

export const TRANSFER_CONTENT_TYPE = 'application/x-ndjson';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (LOOPBACK_NAMES.has(h)) return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** The host part of a Host header (`127.0.0.1:9464`, `[::1]:9464`, `localhost`). */
function hostOfHeader(header: string | undefined): string {
  if (header === undefined) return '';
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(header);
  return m?.[1] ?? '';
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function jsonBody(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Handles /admin/export and /admin/import; false for any other path. */
export async function routeTransfer(req: IncomingMessage, res: ServerResponse, pathname: string, engine: SessionEngine, boundHost: string): Promise<boolean> {
  if (pathname !== '/admin/export' && pathname !== '/admin/import') return false;
  if (!isLoopbackHost(boundHost)) {
    plain(res, 403, 'export and import are served only on an admin port bound to loopback\n');
    return true;
  }
  if (!isLoopbackHost(hostOfHeader(req.headers.host))) {
    plain(res, 403, 'the Host header must name a loopback address\n');
    return true;
  }
  if (pathname === '/admin/export') {
    if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
    await sendExport(res, engine);
  } else {
    if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
    if ((req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() !== TRANSFER_CONTENT_TYPE) {
      plain(res, 415, `expected content-type: ${TRANSFER_CONTENT_TYPE}\n`);
      return true;
    }
    await receiveImport(req, res, engine);
  }
  return true;
}

function methodNotAllowed(res: ServerResponse, allow: string): true {
  res.setHeader('allow', allow);
  plain(res, 405, 'method not allowed\n');
  return true;
}

async function sendExport(res: ServerResponse, engine: SessionEngine): Promise<void> {
  res.writeHead(200, { 'content-type': `${TRANSFER_CONTENT_TYPE}; charset=utf-8`, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  try {
    await pipeline(Readable.from(exportChunks(engineSessions(engine))), res);
  } catch (e) {
    // The client went away mid-export: nothing to answer, nothing to log.
    if ((e as { code?: unknown }).code !== 'ERR_STREAM_PREMATURE_CLOSE') throw e;
  }
}

async function receiveImport(req: IncomingMessage, res: ServerResponse, engine: SessionEngine): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sessiond-import-'));
  let status: number;
  let body: unknown;
  try {
    const file = join(dir, 'import.jsonl');
    await pipeline(req, createWriteStream(file, { mode: 0o600 }));
    body = await importSessions(engine, { open: () => createReadStream(file) });
    status = 200;
  } catch (e) {
    if (!isSessiondError(e)) throw e;
    [status, body] = [e.status, { code: e.code, message: e.message, context: e.context }];
  } finally {
    // Before the answer: a client that reads it may look for (or exit before) the spool's removal.
    await rm(dir, { recursive: true, force: true });
  }
  jsonBody(res, status, body);
}
