import { request, type IncomingMessage } from 'node:http';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { ERRORS, SessiondError, ioError, type ErrorCode } from '../errors.js';
import { TRANSFER_CONTENT_TYPE } from '../admin/admin-transfer.js';
import type { ImportSummary } from '../transfer/import-sessions.js';

/**
 * The client side of the admin port's /admin/export and /admin/import (src/admin/admin-transfer.ts),
 * for `sessiond export|import --admin-url URL`. Plain HTTP: the endpoints answer on loopback only.
 */

function endpoint(adminUrl: string, path: string): URL {
  let url: URL;
  try {
    url = new URL(path, adminUrl);
  } catch {
    throw new SessiondError('SESSIOND_INVALID_ARGUMENT', `--admin-url: not a URL: ${JSON.stringify(adminUrl)}`, { argument: 'admin-url' });
  }
  if (url.protocol !== 'http:') throw new SessiondError('SESSIOND_INVALID_ARGUMENT', `--admin-url: expected http://host:port, got ${url.protocol}`, { argument: 'admin-url' });
  return url;
}

function unreachable(url: URL, e: unknown): SessiondError {
  return new SessiondError('SESSIOND_INVALID_ARGUMENT', `--admin-url: ${url.origin} did not answer: ${(e as Error).message}`, { argument: 'admin-url' });
}

async function bodyText(res: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of res) text += (chunk as Buffer).toString('utf8');
  return text;
}

/** The server's error: its own SessiondError when it sent one (JSON), else the HTTP status. */
async function failure(url: URL, res: IncomingMessage): Promise<SessiondError> {
  const text = await bodyText(res);
  try {
    const e = JSON.parse(text) as { code?: string; message?: string; context?: Record<string, string | number> };
    if (typeof e.code === 'string' && Object.hasOwn(ERRORS, e.code)) {
      const base = ERRORS[e.code as ErrorCode].message;
      const detail = (e.message ?? '').startsWith(base + ': ') ? e.message!.slice(base.length + 2) : e.message;
      return new SessiondError(e.code as ErrorCode, detail, e.context ?? {});
    }
  } catch {
    // not JSON: fall through
  }
  return new SessiondError('SESSIOND_INVALID_ARGUMENT', `--admin-url: ${url.href} answered HTTP ${res.statusCode}: ${text.trim()}`, { argument: 'admin-url' });
}

/** GET /admin/export: resolves with the response stream of export lines. */
export function adminExport(adminUrl: string): Promise<IncomingMessage> {
  const url = endpoint(adminUrl, '/admin/export');
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET' }, (res) => {
      if (res.statusCode === 200) resolve(res);
      else failure(url, res).then(reject, reject);
    });
    req.on('error', (e) => reject(unreachable(url, e)));
    req.end();
  });
}

/** POST /admin/import with the file as the body: resolves with the server's summary once it is durable there. */
export function adminImport(adminUrl: string, file: string): Promise<ImportSummary> {
  const url = endpoint(adminUrl, '/admin/import');
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': TRANSFER_CONTENT_TYPE } }, (res) => {
      if (res.statusCode === 200) bodyText(res).then((t) => resolve(JSON.parse(t) as ImportSummary), reject);
      else failure(url, res).then(reject, reject);
    });
    req.on('error', (e) => reject(unreachable(url, e)));
    pipeline(createReadStream(file), req).catch((e: unknown) => {
      req.destroy();
      reject(ioError('read', file, e));
    });
  });
}
